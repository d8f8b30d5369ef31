// runtime::invoke: one invocation of a function of either kind, the kind
// dispatched here once.
#include <variant>

#include "cwasi/runtime/instance.h"

namespace cwasi::runtime {

namespace {

// A non-zero exit code or handler status: the function failed, and what it
// wrote is the message.
Error functionFailed(std::span<const uint8_t> output, std::string_view what, int status) {
  if (output.empty()) return aborted(std::string(what) + " " + std::to_string(status));
  return aborted(std::string(reinterpret_cast<const char*>(output.data()), output.size()));
}

Result<std::unique_ptr<Instance>> instantiate(Engine& engine, std::shared_ptr<const Module> module,
                                              RunContext context) {
  auto instance = Instance::create(engine, std::move(module), std::move(context));
  if (!instance.ok() && instance.error().code() == Code::kResourceExhausted) {
    return unavailable(instance.error().message());
  }
  return instance;
}

Result<void> invokeCommand(Engine& engine, std::shared_ptr<const Module> module,
                           RunContext context, PayloadSource& request, PayloadSink& response,
                           ResponseHead* head) {
  TRY_ASSIGN(std::vector<uint8_t> input, readAll(request));
  context.input = StdinBytes{std::move(input)};
  if (!std::holds_alternative<OutputCapture>(context.output)) context.output = OutputCapture{};
  TRY_ASSIGN(auto instance, instantiate(engine, std::move(module), std::move(context)));
  TRY_ASSIGN(int status, instance->runMain());
  const std::string& out = instance->capturedStdout();
  std::span<const uint8_t> body(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  if (status != 0) return functionFailed(body, "exited with status", status);
  TRY(response.write(body));
  if (head) *head = instance->responseHead();
  return {};
}

}  // namespace

Result<void> invoke(Engine& engine, std::shared_ptr<const Module> module, RunContext context,
                    PayloadSource& request, PayloadSink& response, ResponseHead* head) {
  switch (module->kind()) {
    case FunctionKind::kCommand:
      return invokeCommand(engine, std::move(module), std::move(context), request, response, head);
    case FunctionKind::kReactor: break;
    case FunctionKind::kUnknown:
      return failedPrecondition(module->name() +
                                " is neither a command (_start) nor a reactor (cwasi_alloc + "
                                "cwasi_handle)");
  }
  // A reactor: a fresh instance, the request copied once from its source
  // into the instance's memory, cwasi_handle, the response to the sink.
  if (request.size() > UINT32_MAX) return resourceExhausted("request larger than 4 GiB");
  TRY_ASSIGN(auto instance, instantiate(engine, std::move(module), std::move(context)));
  const auto len = static_cast<uint32_t>(request.size());
  TRY_ASSIGN(uint32_t ptr, instance->allocate(len));
  TRY_ASSIGN(std::span<uint8_t> dst, instance->memory().slice(ptr, len));
  TRY(request.readInto(dst));  // the one copy: source -> linear memory
  TRY_ASSIGN(Response r, instance->handleAt(ptr, len));
  if (r.status != 0) return functionFailed(r.body, "cwasi_handle returned status", r.status);
  TRY(response.write(r.body));
  if (head) *head = instance->responseHead();
  return {};
}

}  // namespace cwasi::runtime
