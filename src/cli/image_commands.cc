// `cwasi image build|push|pull`: Wasm functions as OCI images, in a tarball
// and in a registry (the OCI distribution API over plain HTTP).
#include <algorithm>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/files.h"
#include "cwasi/node/image_puller.h"
#include "cwasi/node/registry_transport.h"
#include "cwasi/oci/distribution.h"
#include "cwasi/oci/image.h"
#include "flags.h"

namespace cwasi::cli {
namespace {

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

// A registry to push to or pull from: the reference, and the transport's
// options with the credentials --registry-config has for it.
struct RegistryTarget {
  oci::ImageReference ref;
  node::RegistryTransportOptions options;
};
Result<RegistryTarget> registryTarget(const std::string& reference, bool plain_http,
                                      const std::string& config_file) {
  TRY_ASSIGN(oci::ImageReference ref, registryReference(reference, plain_http));
  TRY_ASSIGN(node::RegistryTransportOptions options, transportOptions(config_file, ref.registry));
  return RegistryTarget{std::move(ref), std::move(options)};
}

// --registry-config, as push and pull take it.
CLI::Option* addRegistryConfig(CLI::App& app, std::string& file) {
  return app
      .add_option("--registry-config", file,
                  "credentials, as cwasid takes them ({\"auths\": {\"HOST:PORT\": ...}})")
      ->type_name("FILE");
}

// Packages a module as an OCI image tarball.
class BuildCommand final : public Command {
 public:
  explicit BuildCommand(CLI::App& app) : Command(app) {
    app.add_option("MODULE", module_, "the function's .wasm module")->required();
    app.add_option("-t,--tag", options_.ref, "the image's name, NAME:TAG")
        ->type_name("NAME")
        ->capture_default_str();
    app.add_option("-o,--output", out_, "the image tarball to write")
        ->type_name("FILE")
        ->required();
    app.add_flag("--artifact", artifact_,
                 "a Wasm OCI artifact rather than the image ctr and runc-style\n"
                 "runtimes run (one tar+gzip layer)");
    app.add_option("--annotation", annotations_, "a manifest annotation, K=V (repeatable)")
        ->allow_extra_args(false);
  }

  int run() override {
    options_.compat = !artifact_;
    for (const std::string& a : annotations_) {
      auto kv = keyValue(a, "--annotation");
      if (!kv.ok()) return fail(kExitUsage, kv.error().message());
      options_.annotations[kv->first] = kv->second;
    }
    auto module = readFile(module_);
    if (!module.ok()) {
      return fail(module.error().code() == Code::kNotFound ? kExitNotFound : kExitUsage,
                  module.error().message());
    }
    auto image = oci::buildImageArchive(*module, options_);
    if (!image.ok()) return fail(kExitCannotRun, image.error().message());
    if (auto w = writeFileAtomic(out_, *image); !w.ok()) {
      return fail(kExitUsage, w.error().message());
    }
    std::printf("wrote %s (%s, %zu bytes)\n", out_.c_str(), options_.ref.c_str(), image->size());
    return 0;
  }

 private:
  oci::BuildOptions options_;
  std::string module_, out_;
  bool artifact_ = false;
  std::vector<std::string> annotations_;
};

// Pushes an image tarball to a registry.
class PushCommand final : public Command {
 public:
  explicit PushCommand(CLI::App& app) : Command(app) {
    app.add_option("IMAGE", tarball_, "the image tarball (cwasi image build)")->required();
    app.add_option("REFERENCE", reference_, "where to: REGISTRY/REPOSITORY[:TAG]")->required();
    app.add_flag("--plain-http", plain_http_, "speak plain HTTP to a registry not on this host");
    addRegistryConfig(app, config_);
  }

  int run() override {
    auto target = registryTarget(reference_, plain_http_, config_);
    if (!target.ok()) return fail(kExitUsage, target.error().message());
    auto tarball = readFile(tarball_);
    if (!tarball.ok()) return fail(kExitNotFound, tarball.error().message());
    node::PlainHttpRegistryTransport http(std::move(target->options));
    auto digest = oci::pushImage(*tarball, target->ref, http);
    if (!digest.ok()) return fail(kExitCannotRun, "image push: " + digest.error().message());
    std::printf("pushed %s (%s)\n", target->ref.toString().c_str(), digest->c_str());
    return 0;
  }

 private:
  std::string tarball_, reference_, config_;
  bool plain_http_ = false;
};

// Pulls an image from a registry into a tarball.
class PullCommand final : public Command {
 public:
  explicit PullCommand(CLI::App& app) : Command(app) {
    app.add_option("REFERENCE", reference_, "what: REGISTRY/REPOSITORY[:TAG|@DIGEST]")->required();
    app.add_option("-o,--output", out_, "the image tarball to write")
        ->type_name("FILE")
        ->required();
    app.add_flag("--plain-http", plain_http_, "speak plain HTTP to a registry not on this host");
    addRegistryConfig(app, config_);
  }

  int run() override {
    auto target = registryTarget(reference_, plain_http_, config_);
    if (!target.ok()) return fail(kExitUsage, target.error().message());
    node::PlainHttpRegistryTransport http(std::move(target->options));
    auto tarball = oci::pullImage(target->ref, http);
    if (!tarball.ok()) {
      return fail(tarball.error().code() == Code::kNotFound ? kExitNotFound : kExitCannotRun,
                  "image pull: " + tarball.error().message());
    }
    if (auto w = writeFileAtomic(out_, *tarball); !w.ok()) {
      return fail(kExitUsage, w.error().message());
    }
    std::printf("pulled %s into %s (%zu bytes)\n", target->ref.toString().c_str(), out_.c_str(),
                tarball->size());
    return 0;
  }

 private:
  std::string reference_, out_, config_;
  bool plain_http_ = false;
};

}  // namespace

void addImageCommands(Subcommands& out) {
  out.push_back({"image", "", "package a function as an OCI image", "images",
                 [](CLI::App& image, Commands& commands) {
                   image.require_subcommand(0, 1);
                   auto add = [&](const char* name, const char* help) -> CLI::App& {
                     return *image.add_subcommand(name, help)->group("commands");
                   };
                   commands.push_back(std::make_unique<BuildCommand>(
                       add("build", "package a module as an OCI image tarball")));
                   commands.push_back(std::make_unique<PushCommand>(
                       add("push", "push an image tarball to a registry")));
                   commands.push_back(std::make_unique<PullCommand>(
                       add("pull", "pull an image from a registry into a tarball")));
                 }});
}

}  // namespace cwasi::cli
