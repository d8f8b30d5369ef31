// `cwasi image build|push|pull`: Wasm functions as OCI images, in a tarball
// and in a registry (the OCI distribution API over plain HTTP).
#include <algorithm>

#include "args.h"
#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/files.h"
#include "cwasi/node/image_puller.h"
#include "cwasi/node/registry_transport.h"
#include "cwasi/oci/distribution.h"
#include "cwasi/oci/image.h"

namespace cwasi::cli {
namespace {

constexpr char kUsage[] =
    "usage: cwasi image build MODULE -t NAME:TAG -o IMAGE.tar [--artifact]\n"
    "       cwasi image push IMAGE.tar REGISTRY/REPOSITORY[:TAG] [--plain-http] [--registry-config FILE]\n"
    "       cwasi image pull REGISTRY/REPOSITORY[:TAG|@DIGEST] -o IMAGE.tar [--plain-http]\n"
    "                        [--registry-config FILE]\n"
    "  --registry-config FILE  credentials, as cwasid takes them ({\"auths\": {\"HOST:PORT\": ...}})";

// The registry's credentials from a --registry-config file (cwasid's format),
// when it has some for `registry`.
Result<node::RegistryTransportOptions> transportOptions(const std::string& config_file,
                                                        const std::string& registry) {
  node::RegistryTransportOptions o;
  if (config_file.empty()) return o;
  TRY_ASSIGN(node::RegistryConfig config, node::loadRegistryConfig(config_file));
  if (auto it = config.auths.find(registry); it != config.auths.end()) o.credentials = it->second;
  return o;
}

// Plain HTTP is for a registry on this host, or one the user vouches for.
Result<oci::ImageReference> registryReference(const std::string& text, bool plain_http) {
  TRY_ASSIGN(oci::ImageReference ref, oci::parseImageReference(text));
  const std::string host = ref.registry.substr(0, ref.registry.rfind(':'));
  const bool loopback = host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]";
  if (!loopback && !plain_http) {
    return invalidArgument("registry " + ref.registry +
                           ": only plain HTTP is spoken; pass --plain-http if it serves plain HTTP");
  }
  return ref;
}

int imageBuild(const std::vector<std::string>& argv) {
  const char* usage = "usage: cwasi image build MODULE -t NAME:TAG -o IMAGE.tar [--artifact]";
  oci::BuildOptions options;
  std::string out;
  Args a(argv);
  auto rest = a.parseInterleaved([&](const std::string& f) -> Result<bool> {
    if (f == "-t" || f == "--tag") {
      TRY_ASSIGN(options.ref, a.value(f));
    } else if (f == "-o" || f == "--output") {
      TRY_ASSIGN(out, a.value(f));
    } else if (f == "--artifact") {
      options.compat = false;
    } else if (f == "--annotation") {
      TRY_ASSIGN(std::string v, a.value(f));
      TRY_ASSIGN(auto kv, keyValue(v, f));
      options.annotations[kv.first] = kv.second;
    } else {
      return false;
    }
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "image build: " + rest.error().message());
  if (rest->size() != 1 || out.empty()) return fail(kExitUsage, usage);
  auto module = readFile((*rest)[0]);
  if (!module.ok()) {
    return fail(module.error().code() == Code::kNotFound ? kExitNotFound : kExitUsage,
                module.error().message());
  }
  auto image = oci::buildImageArchive(*module, options);
  if (!image.ok()) return fail(kExitCannotRun, image.error().message());
  if (auto w = writeFileAtomic(out, *image); !w.ok()) return fail(kExitUsage, w.error().message());
  std::printf("wrote %s (%s, %zu bytes)\n", out.c_str(), options.ref.c_str(), image->size());
  return 0;
}


int imagePush(const std::vector<std::string>& argv) {
  bool plain_http = false;
  std::string config;
  Args a(argv);
  auto rest = a.parseInterleaved([&](const std::string& f) -> Result<bool> {
    if (f == "--plain-http") {
      plain_http = true;
    } else if (f == "--registry-config") {
      TRY_ASSIGN(config, a.value(f));
    } else {
      return false;
    }
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "image push: " + rest.error().message());
  if (rest->size() != 2) return fail(kExitUsage, kUsage);
  auto ref = registryReference((*rest)[1], plain_http);
  if (!ref.ok()) return fail(kExitUsage, ref.error().message());
  auto options = transportOptions(config, ref->registry);
  if (!options.ok()) return fail(kExitUsage, options.error().message());
  auto tarball = readFile((*rest)[0]);
  if (!tarball.ok()) return fail(kExitNotFound, tarball.error().message());
  node::PlainHttpRegistryTransport http(std::move(*options));
  auto digest = oci::pushImage(*tarball, *ref, http);
  if (!digest.ok()) return fail(kExitCannotRun, "image push: " + digest.error().message());
  std::printf("pushed %s (%s)\n", ref->toString().c_str(), digest->c_str());
  return 0;
}

int imagePull(const std::vector<std::string>& argv) {
  bool plain_http = false;
  std::string out, config;
  Args a(argv);
  auto rest = a.parseInterleaved([&](const std::string& f) -> Result<bool> {
    if (f == "--plain-http") {
      plain_http = true;
    } else if (f == "--registry-config") {
      TRY_ASSIGN(config, a.value(f));
    } else if (f == "-o" || f == "--output") {
      TRY_ASSIGN(out, a.value(f));
    } else {
      return false;
    }
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "image pull: " + rest.error().message());
  if (rest->size() != 1 || out.empty()) return fail(kExitUsage, kUsage);
  auto ref = registryReference((*rest)[0], plain_http);
  if (!ref.ok()) return fail(kExitUsage, ref.error().message());
  auto options = transportOptions(config, ref->registry);
  if (!options.ok()) return fail(kExitUsage, options.error().message());
  node::PlainHttpRegistryTransport http(std::move(*options));
  auto tarball = oci::pullImage(*ref, http);
  if (!tarball.ok()) {
    return fail(tarball.error().code() == Code::kNotFound ? kExitNotFound : kExitCannotRun,
                "image pull: " + tarball.error().message());
  }
  if (auto w = writeFileAtomic(out, *tarball); !w.ok()) return fail(kExitUsage, w.error().message());
  std::printf("pulled %s into %s (%zu bytes)\n", ref->toString().c_str(), out.c_str(), tarball->size());
  return 0;
}

}  // namespace

int imageCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return fail(kExitUsage, kUsage);
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "build") return imageBuild(rest);
  if (argv[0] == "push") return imagePush(rest);
  if (argv[0] == "pull") return imagePull(rest);
  return fail(kExitUsage, kUsage);
}

}  // namespace cwasi::cli
