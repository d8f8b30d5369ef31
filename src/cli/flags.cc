#include "flags.h"

#include <cctype>
#include <charconv>
#include <cstdio>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/node/deployment.h"

namespace cwasi::cli {
namespace {

std::string rangeText(uint64_t min, uint64_t max) {
  if (max == UINT64_MAX) return "at least " + std::to_string(min);
  return std::to_string(min) + ".." + std::to_string(max);
}

// 64Mi for 64 << 20: the largest binary unit that divides `bytes`.
std::string bytesText(uint64_t bytes) {
  if (bytes == 0) return "0";
  for (const auto& [shift, unit] : {std::pair{30, "Gi"}, {20, "Mi"}, {10, "Ki"}}) {
    if (bytes % (uint64_t{1} << shift) == 0) return std::to_string(bytes >> shift) + unit;
  }
  return std::to_string(bytes);
}

// The apps the command line selected: `app`, its subcommand, and so on down.
std::vector<const CLI::App*> selectedPath(const CLI::App& app) {
  std::vector<const CLI::App*> path = {&app};
  for (;;) {
    auto subs = path.back()->get_subcommands();
    if (subs.empty()) return path;
    path.push_back(subs.front());
  }
}

std::string commandName(const std::vector<const CLI::App*>& path) {
  std::string name;
  for (const CLI::App* a : path) name += (name.empty() ? "" : " ") + a->get_name();
  return name;
}

// CLI11's "The following argument was not expected: X", said as before: an
// unknown command, an unknown option, or an argument too many.
std::string extrasMessage(const std::vector<const CLI::App*>& path) {
  for (const CLI::App* a : path) {
    const std::vector<std::string> extras = a->remaining();
    if (extras.empty()) continue;
    const std::string& first = extras.front();
    if (first.size() > 1 && first[0] == '-') return "unknown option " + first;
    const bool has_subcommands = !a->get_subcommands({}).empty();
    if (has_subcommands && a->get_subcommands().empty()) return "unknown command '" + first + "'";
    return "unexpected argument " + first;
  }
  return "unexpected arguments";
}

}  // namespace

CLI::Validator inRange(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        // CLI11 names the flag: "--flag: must be 1..4096, got 0".
        auto n = parseInRange(input, "", min, max);
        if (!n.ok()) return n.error().message();
        input = std::to_string(*n);
        return "";
      },
      min == 0 && max == UINT64_MAX ? "" : rangeText(min, max));
}

CLI::Option* addMillis(CLI::App& app, const std::string& name, std::chrono::milliseconds& ms,
                       const std::string& help) {
  return app
      .add_option_function<uint64_t>(
          name, [&ms](const uint64_t& v) { ms = std::chrono::milliseconds(v); }, help)
      ->default_str(std::to_string(ms.count()))
      ->transform(inRange(1));
}

CLI::Option* addScaledBytes(CLI::App& app, const std::string& name, uint64_t& bytes, int shift,
                            uint64_t min, uint64_t max, const std::string& help) {
  CLI::Option* o = app.add_option_function<uint64_t>(
      name, [&bytes, shift](const uint64_t& v) { bytes = v << shift; }, help);
  if (bytes != 0) o->default_str(std::to_string(bytes >> shift));
  return o->transform(inRange(min, max));
}

CLI::Option* addByteSize(CLI::App& app, const std::string& name, uint64_t& bytes, uint64_t min,
                         const std::string& help) {
  const std::string least = bytesText(min);
  return app.add_option(name, bytes, help)
      ->type_name("SIZE")
      ->default_str(bytesText(bytes))
      ->transform(CLI::Validator(
          [min, least](std::string& input) -> std::string {
            auto b = node::parseByteSize(input);
            if (!b.ok()) return b.error().message();
            if (*b < min) return "must be at least " + least + ", got " + input;
            input = std::to_string(*b);
            return "";
          },
          min > 0 ? "at least " + least : ""));
}

Result<std::pair<std::string, std::string>> keyValue(const std::string& s,
                                                     const std::string& flag) {
  const size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0) {
    return invalidArgument(flag + " expects KEY=VALUE, got " + s);
  }
  return std::make_pair(s.substr(0, eq), s.substr(eq + 1));
}

Result<uint64_t> parseInRange(const std::string& s, const std::string& what, uint64_t min,
                              uint64_t max) {
  const std::string subject = what.empty() ? "" : what + " ";
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return invalidArgument(subject + "expects a non-negative number, got '" + s + "'");
  }
  if (v < min || v > max) {
    return invalidArgument(subject + "must be " + rangeText(min, max) + ", got " + s);
  }
  return v;
}

HelpFormatter::HelpFormatter() {
  label("Usage", "usage");
  label("OPTIONS", "options");
  label("Positionals", "arguments");
  label("UINT", "N");
  label("INT", "N");
  column_width(32);
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string name,
                                     CLI::AppFormatMode mode) const {
  if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
  std::string out = make_usage(app, name);
  const std::string description = make_description(app);
  if (!description.empty()) out += "\n" + description;
  out += make_positionals(app);
  out += make_groups(app, mode);
  out += make_subcommands(app, mode);
  const std::string footer = make_footer(app);
  if (!footer.empty()) out += "\n" + footer;
  // CLI11 puts two blank lines between groups; one is enough.
  for (size_t at; (at = out.find("\n\n\n")) != std::string::npos;) out.erase(at, 1);
  return out;
}

std::string HelpFormatter::make_group(std::string group, bool is_positional,
                                      std::vector<const CLI::Option*> opts) const {
  // CLI11's own groups ("Options") in lower case, like ours.
  if (!group.empty()) {
    group[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(group[0])));
  }
  return CLI::Formatter::make_group(std::move(group), is_positional, std::move(opts));
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  std::string out;
  std::vector<std::string> notes;
  if (opt->get_type_size() != 0 && !opt->get_positional()) {
    std::string type = opt->get_type_name();
    if (const size_t colon = type.find(':'); colon != std::string::npos) {
      notes.push_back(type.substr(colon + 1));
      type.resize(colon);
    }
    out += " " + get_label(type);
    if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
    if (!opt->get_default_str().empty()) notes.push_back("default " + opt->get_default_str());
  }
  if (!opt->get_envname().empty()) notes.push_back("env " + opt->get_envname());
  if (opt->get_required() && !opt->get_positional()) notes.push_back("required");
  if (!notes.empty()) out += " (" + CLI::detail::join(notes, ", ") + ")";
  return out;
}

std::optional<int> parseCommandLine(CLI::App& app, const std::vector<std::string>& args,
                                    const std::function<void()>& declare) {
  try {
    app.formatter(std::make_shared<HelpFormatter>());
    declare();
    // CLI11 takes the arguments last first.
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return 0;
  } catch (const CLI::ExtrasError&) {
    const auto path = selectedPath(app);
    return fail(kExitUsage, extrasMessage(path) + " (see " + commandName(path) + " --help)");
  } catch (const CLI::Error& e) {
    const auto path = selectedPath(app);
    return fail(kExitUsage, std::string(e.what()) + " (see " + commandName(path) + " --help)");
  }
}

}  // namespace cwasi::cli
