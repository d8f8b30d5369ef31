#include "cwasi/oci/image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../src/oci/archive.h"
#include "cwasi/common/files.h"
#include "cwasi/common/sha256.h"
#include "cwasi/common/subprocess.h"
#include "support/wasi_test.h"

namespace cwasi::oci {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::vector<uint8_t> helloModule() {
  auto bytes = readFile(cwasi::testing::functionPath("hello"));
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

std::string run(const std::vector<std::string>& argv, const std::string& cwd = "") {
  SubprocessOptions o;
  o.argv = argv;
  if (!cwd.empty()) o.cwd = cwd;
  auto r = runSubprocess(o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  return r->out;
}

TEST(OciImage, CompatImageRoundTrips) {
  const auto module = helloModule();
  BuildOptions o;
  o.ref = "example.com/hello:v1";
  auto tar = buildImageArchive(module, o);
  ASSERT_TRUE(tar.ok()) << tar.error().message();
  auto image = readImageArchive(std::span<const uint8_t>(*tar));
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->module, module);
  EXPECT_EQ(image->module_path, "/module.wasm");
  EXPECT_EQ(image->ref, "example.com/hello:v1");
  EXPECT_EQ(image->annotations[kAnnotationVariant], "compat");
  EXPECT_EQ(image->args, std::vector<std::string>{"/module.wasm"});
}

TEST(OciImage, ArtifactImageRoundTrips) {
  const auto module = helloModule();
  BuildOptions o;
  o.compat = false;
  auto tar = buildImageArchive(module, o);
  ASSERT_TRUE(tar.ok());
  auto image = readImageArchive(std::span<const uint8_t>(*tar));
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->module, module);
  EXPECT_TRUE(image->module_path.empty());
}

TEST(OciImage, BuildIsDeterministic) {
  const auto module = helloModule();
  auto a = buildImageArchive(module, {});
  auto b = buildImageArchive(module, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(sha256Hex(*a), sha256Hex(*b));
}

// Our tarball is a tar that GNU tar reads; a layout GNU tar writes (gzip'd,
// with its own header flavour) is one we read.
TEST(OciImage, InteroperatesWithGnuTar) {
  auto dir = makeTempDir("cwasi-oci-");
  ASSERT_TRUE(dir.ok());
  auto tar = buildImageArchive(helloModule(), {});
  ASSERT_TRUE(tar.ok());
  ASSERT_TRUE(writeFileAtomic(*dir / "image.tar", *tar).ok());
  fs::create_directories(*dir / "layout");
  const std::string listing = run({"tar", "-tf", (*dir / "image.tar").string()});
  EXPECT_THAT(listing, HasSubstr("oci-layout"));
  EXPECT_THAT(listing, HasSubstr("index.json"));
  EXPECT_THAT(listing, HasSubstr("blobs/sha256/"));
  run({"tar", "-xf", (*dir / "image.tar").string(), "-C", (*dir / "layout").string()});
  run({"tar", "--format=gnu", "-czf", (*dir / "gnu.tar.gz").string(), "-C",
       (*dir / "layout").string(), "."});
  auto image = readImageArchive(*dir / "gnu.tar.gz");
  ASSERT_TRUE(image.ok()) << image.error().message();
  EXPECT_EQ(image->module, helloModule());
  fs::remove_all(*dir);
}

TEST(OciImage, TamperedBlobIsRefused) {
  auto tar = buildImageArchive(helloModule(), {});
  ASSERT_TRUE(tar.ok());
  auto entries = readTar(*tar, 1 << 30);
  ASSERT_TRUE(entries.ok());
  for (auto& e : *entries) {
    if (e.path.rfind("blobs/sha256/", 0) == 0 && e.data.size() > 1000) e.data[500] ^= 0xff;
  }
  auto tampered = writeTar(*entries);
  ASSERT_TRUE(tampered.ok());
  auto image = readImageArchive(std::span<const uint8_t>(*tampered));
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message(), HasSubstr("does not match its digest"));
}

TEST(OciImage, MalformedInputsGetClearErrors) {
  const std::string garbage = "this is not an image";
  auto a = readImageArchive(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(garbage.data()), garbage.size()));
  EXPECT_FALSE(a.ok());

  auto no_layout = writeTar({{"index.json", '0', 0644, {'{', '}'}}});
  ASSERT_TRUE(no_layout.ok());
  auto b = readImageArchive(std::span<const uint8_t>(*no_layout));
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error().message(), HasSubstr("no oci-layout"));

  std::vector<uint8_t> not_wasm = {'n', 'o', 'p', 'e'};
  auto c = buildImageArchive(not_wasm, {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message(), HasSubstr("not WebAssembly"));

  auto missing = readImageArchive(fs::path("/nonexistent/image.tar"));
  EXPECT_FALSE(missing.ok());
}

TEST(OciArchive, RefusesPathsThatEscape) {
  auto tar = writeTar({{"../../etc/passwd", '0', 0644, {'x'}}});
  ASSERT_TRUE(tar.ok());
  auto entries = readTar(*tar, 1 << 20);
  ASSERT_FALSE(entries.ok());
  EXPECT_THAT(entries.error().message(), HasSubstr("escapes"));
}

TEST(OciArchive, GzipBombIsCapped) {
  std::vector<uint8_t> zeros(8 << 20, 0);
  auto packed = gzip(zeros);
  EXPECT_LT(packed.size(), 64u << 10);
  auto small = gunzip(packed, 1 << 20);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().code(), Code::kResourceExhausted);
  auto full = gunzip(packed, 16 << 20);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, zeros);
  packed.resize(packed.size() / 2);
  EXPECT_FALSE(gunzip(packed, 16 << 20).ok());
}

// A layer that inflates past the cap is refused without holding what it
// inflates to: the reader streams the tar out of the inflater, keeps only
// the module, and stops at the cap (skipped entries count).
TEST(OciArchive, ALayerIsReadAsAStreamUpToTheCap) {
  const auto module = helloModule();
  const std::vector<uint8_t> padding(48 << 20, 0);
  auto layer_tar = writeTar({{"pad/zeros", '0', 0644, padding}, {"module.wasm", '0', 0755, module}});
  ASSERT_TRUE(layer_tar.ok());
  const auto layer = gzip(*layer_tar);
  EXPECT_LT(layer.size(), 1u << 20);

  TarReader capped(layer, 16 << 20);
  auto first = capped.next();
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_EQ((*first)->path, "pad/zeros");
  EXPECT_EQ((*first)->size, padding.size());
  auto second = capped.next();  // passes over the padding: past the cap
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Code::kResourceExhausted);
  EXPECT_THAT(second.error().message(), HasSubstr("gzip: expands past"));

  TarReader reader(layer, 64 << 20);
  std::vector<std::string> paths;
  std::vector<uint8_t> kept;
  for (;;) {
    auto h = reader.next();
    ASSERT_TRUE(h.ok()) << h.error().message();
    if (!*h) break;
    paths.push_back((*h)->path);
    if ((*h)->path == "module.wasm") {
      auto data = reader.data();
      ASSERT_TRUE(data.ok());
      kept.assign(data->begin(), data->end());
    }
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"pad/zeros", "module.wasm"}));
  EXPECT_EQ(kept, module);

  // Not gzip'd: an entry's data is a view into the archive, not a copy.
  TarReader plain(*layer_tar, 64 << 20);
  ASSERT_TRUE(plain.next().ok());
  auto view = plain.data();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->data(), layer_tar->data() + 512);
  EXPECT_EQ(view->size(), padding.size());
}

TEST(OciImage, AnImageWhoseLayerInflatesPastTheCapIsRefused) {
  BuildOptions o;
  o.ref = "example.com/bomb:v1";
  std::vector<uint8_t> module = helloModule();
  module.resize(40 << 20, 0);  // a custom section's worth of zeros, as far as gzip cares
  auto tar = buildImageArchive(module, o);
  ASSERT_TRUE(tar.ok()) << tar.error().message();
  EXPECT_LT(tar->size(), 1u << 20);
  auto refused = readImageArchive(std::span<const uint8_t>(*tar), 32 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kResourceExhausted);
  auto read = readImageArchive(std::span<const uint8_t>(*tar), 64 << 20);
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(read->module.size(), module.size());
}

TEST(OciArchive, LongPathsRoundTrip) {
  std::string dir(90, 'd');
  std::string path = dir + "/" + std::string(80, 'f') + ".wasm";
  auto tar = writeTar({{path, '0', 0644, {1, 2, 3}}});
  ASSERT_TRUE(tar.ok());
  auto entries = readTar(*tar, 1 << 20);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, path);
  EXPECT_EQ((*entries)[0].data, (std::vector<uint8_t>{1, 2, 3}));
}

// Found by the oci_image fuzz target: a long name whose only '/' came first
// sent writeTar looking for a split point forever.
TEST(OciArchive, ALongPathWithNoSplitPointIsRefused) {
  for (const std::string& path : {"/" + std::string(150, 'a'), "/" + std::string(150, 'b') + "/"}) {
    auto tar = writeTar({{path, '0', 0644, {1}}});
    ASSERT_FALSE(tar.ok()) << path;
    EXPECT_THAT(tar.error().message(), HasSubstr("path too long"));
  }
}

std::vector<uint8_t> bytesOf(std::string_view s) { return {s.begin(), s.end()}; }

TEST(OciArchive, PaxPathsNameTheNextEntry) {
  auto tar = writeTar({{"PaxHeader", 'x', 0644, bytesOf("8 a=bcd\n18 path=long/name\n")},
                       {"short", '0', 0644, {7}}});
  ASSERT_TRUE(tar.ok());
  auto entries = readTar(*tar, 1 << 20);
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, "long/name");
}

// Found by the archive fuzz target: a PAX record length of "-1" (read as
// 2^64-1) moved the reader back to where it started, forever.
TEST(OciArchive, APaxRecordWithABadLengthEndsTheRecords) {
  for (const char* pax : {"1-1 path=p/x\n", "-1 path=p/x\n", "0 path=x\n", "3 path=x\n",
                          "99 path=x\n", "12 path=x\n\n"}) {
    auto tar = writeTar({{"PaxHeader", 'x', 0644, bytesOf(pax)}, {"file", '0', 0644, {1}}});
    ASSERT_TRUE(tar.ok());
    auto entries = readTar(*tar, 1 << 20);
    ASSERT_TRUE(entries.ok()) << pax;
    ASSERT_EQ(entries->size(), 1u) << pax;
    EXPECT_EQ((*entries)[0].path, "file") << pax;
  }
}

// Found by the archive fuzz target: a PAX path may hold a NUL, which no file
// name can (and which writeTar could not write back).
TEST(OciArchive, APathWithANulIsRefused) {
  auto tar = writeTar({{"PaxHeader", 'x', 0644, bytesOf(std::string("14 path=a\0b/c\n", 14))},
                       {"file", '0', 0644, {1}}});
  ASSERT_TRUE(tar.ok());
  auto entries = readTar(*tar, 1 << 20);
  ASSERT_FALSE(entries.ok());
  EXPECT_THAT(entries.error().message(), HasSubstr("NUL"));
}

}  // namespace
}  // namespace cwasi::oci
