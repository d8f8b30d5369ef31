// regex-grep (command, C++): prints the lines of stdin that match the ECMAScript
// regular expression argv[1], then a count on stderr. Exits 1 when nothing
// matches, 2 on a bad pattern — like grep. A realistic ~1 MB module (libc++'s
// <regex>, <iostream>, <map>) used by the compile-vs-cache benchmark.
#include <iostream>
#include <map>
#include <regex>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: regex-grep PATTERN\n";
    return 2;
  }
  std::regex re;
  re.assign(argv[1], std::regex::ECMAScript);  // no exceptions: an invalid pattern aborts
  std::map<std::string, unsigned> first_words;
  std::string line;
  unsigned matches = 0;
  while (std::getline(std::cin, line)) {
    if (std::regex_search(line, re)) {
      ++matches;
      std::cout << line << '\n';
      std::smatch m;
      if (std::regex_search(line, m, std::regex("\\w+"))) ++first_words[m.str()];
    }
  }
  std::cerr << matches << " matching lines, " << first_words.size() << " distinct first words\n";
  return matches ? 0 : 1;
}
