// workflow (reactor): a workflow's entry point, deployed like any function
// (in a pod, next to the functions it calls): its request is the workflow's
// input and its response the workflow's output. The DAG is the environment
// variable CWASI_WORKFLOW, one step a line in declaration order:
//   ID TARGET [AFTER ...]
// (space-separated: the step's id, the function it calls, the ids of the
// steps whose outputs feed it). The semantics are cwasid's workflow engine's
// (include/cwasi/node/workflow.h): a step with no AFTER gets the workflow's
// input, another the outputs of its AFTER steps concatenated in the order
// listed; the output is the sinks' (the steps no other step lists in AFTER)
// concatenated in declaration order. Steps run one at a time, each once its
// AFTER steps are done.
//
// Failures answer status 1 and a one-line message: the first failing call
// stops the workflow with "workflow step ID (TARGET): cwasi status N", plus
// ": " and the callee's error text for CWASI_ERR_FUNCTION_FAILED; a missing
// or malformed CWASI_WORKFLOW says what is wrong with it.
#include <cwasi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 256    // as cwasid's kMaxWorkflowSteps
#define MAX_LINE 4096    // bytes of one step's line
#define SEPARATORS " \t\r"

typedef struct {
  const char* id;      // in the copy of CWASI_WORKFLOW
  const char* target;
  uint32_t first;      // its AFTER ids: after_ids[first .. first + count)
  uint32_t count;
  int followed;        // another step lists it in AFTER: not a sink
  uint8_t* out;        // its response, once it ran
  uint32_t out_len;
} Step;

// One invocation's workflow. Static: an instance serves one call at a time.
static Step steps[MAX_STEPS];
static uint32_t n_steps;
static uint32_t order[MAX_STEPS];  // step indices, each after its AFTER steps
static char* text;                 // CWASI_WORKFLOW's copy, tokens cut in place
static const char** after_ids;     // every step's AFTER ids, in line order
static uint32_t* after_steps;      // the same, as step indices
static uint8_t* response;          // what cwasi_response_set names, until the next call

// Frees what an invocation allocated (the response stays until the next).
static void clear(void) {
  for (uint32_t i = 0; i < n_steps; ++i) free(steps[i].out);
  memset(steps, 0, sizeof steps);
  n_steps = 0;
  free(text);
  free(after_ids);
  free(after_steps);
  text = NULL;
  after_ids = NULL;
  after_steps = NULL;
}

static int32_t respond(uint8_t* body, uint32_t len) {
  free(response);
  response = body;
  return cwasi_response_set(body, len);
}

// Fails the invocation with a formatted message and `tail` (len bytes) after it.
static int32_t fail(const uint8_t* tail, uint32_t tail_len, const char* format, ...) {
  char head[600];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(head, sizeof head, format, args);
  va_end(args);
  size_t head_len = n < 0 ? 0 : ((size_t)n < sizeof head ? (size_t)n : sizeof head - 1);
  uint8_t* body = malloc(head_len + tail_len + 1);
  if (body == NULL) {
    respond(NULL, 0);
    clear();
    return 1;
  }
  memcpy(body, head, head_len);
  if (tail_len) memcpy(body + head_len, tail, tail_len);
  respond(body, (uint32_t)(head_len + tail_len));
  clear();
  return 1;
}

static int find(const char* id) {
  for (uint32_t i = 0; i < n_steps; ++i) {
    if (strcmp(steps[i].id, id) == 0) return (int)i;
  }
  return -1;
}

// Reads CWASI_WORKFLOW into steps[] and order[]; NULL, or what is wrong.
static const char* parse(char* error, size_t error_size) {
  const char* env = getenv("CWASI_WORKFLOW");
  if (env == NULL) return "CWASI_WORKFLOW is not set";
  const size_t len = strlen(env);
  text = malloc(len + 1);
  // Each AFTER id takes two bytes at least (itself and a separator).
  after_ids = malloc(sizeof *after_ids * (len / 2 + 1));
  after_steps = malloc(sizeof *after_steps * (len / 2 + 1));
  if (text == NULL || after_ids == NULL || after_steps == NULL) return "out of memory";
  memcpy(text, env, len + 1);

  uint32_t n_afters = 0, line_no = 0;
  for (char* line = text; line != NULL;) {
    char* end = strchr(line, '\n');
    if (end) *end = 0;
    ++line_no;
    if (strlen(line) > MAX_LINE) {
      snprintf(error, error_size, "CWASI_WORKFLOW line %u is longer than %d bytes", line_no,
               MAX_LINE);
      return error;
    }
    char* id = strtok(line, SEPARATORS);
    if (id != NULL) {  // blank lines are skipped
      char* target = strtok(NULL, SEPARATORS);
      if (target == NULL) {
        snprintf(error, error_size, "CWASI_WORKFLOW line %u: expected 'ID TARGET [AFTER ...]'",
                 line_no);
        return error;
      }
      if (n_steps == MAX_STEPS) return "CWASI_WORKFLOW has more than 256 steps";
      if (find(id) >= 0) {
        snprintf(error, error_size, "CWASI_WORKFLOW: step id %s is used twice", id);
        return error;
      }
      Step* s = &steps[n_steps++];
      s->id = id;
      s->target = target;
      s->first = n_afters;
      for (char* after; (after = strtok(NULL, SEPARATORS)) != NULL;) after_ids[n_afters++] = after;
      s->count = n_afters - s->first;
    }
    line = end ? end + 1 : NULL;
  }
  if (n_steps == 0) return "CWASI_WORKFLOW has no steps";

  for (uint32_t i = 0; i < n_steps; ++i) {
    const Step* s = &steps[i];
    for (uint32_t k = s->first; k < s->first + s->count; ++k) {
      int dep = find(after_ids[k]);
      if (dep < 0) {
        snprintf(error, error_size, "CWASI_WORKFLOW: step %s follows unknown step %s", s->id,
                 after_ids[k]);
        return error;
      }
      for (uint32_t j = s->first; j < k; ++j) {
        if (after_steps[j] == (uint32_t)dep) {
          snprintf(error, error_size, "CWASI_WORKFLOW: step %s lists %s twice", s->id,
                   after_ids[k]);
          return error;
        }
      }
      after_steps[k] = (uint32_t)dep;
      steps[dep].followed = 1;
    }
  }

  // A topological order: the first step in declaration order whose AFTER
  // steps are all placed, until every step is, or none can be (a cycle).
  uint8_t placed[MAX_STEPS] = {0};
  for (uint32_t n = 0; n < n_steps; ++n) {
    uint32_t i = 0;
    for (; i < n_steps; ++i) {
      if (placed[i]) continue;
      uint32_t k = steps[i].first;
      while (k < steps[i].first + steps[i].count && placed[after_steps[k]]) ++k;
      if (k == steps[i].first + steps[i].count) break;
    }
    if (i == n_steps) return "CWASI_WORKFLOW has a cycle";
    placed[i] = 1;
    order[n] = i;
  }
  return NULL;
}

static int32_t run(const uint8_t* request, uint32_t request_len) {
  char error[600];
  const char* bad = parse(error, sizeof error);
  if (bad != NULL) return fail(NULL, 0, "workflow: %s", bad);

  for (uint32_t n = 0; n < n_steps; ++n) {
    Step* s = &steps[order[n]];
    const uint8_t* in = request;
    uint32_t in_len = request_len;
    uint8_t* joined = NULL;
    if (s->count > 0) {
      uint64_t total = 0;
      for (uint32_t k = s->first; k < s->first + s->count; ++k) {
        total += steps[after_steps[k]].out_len;
      }
      if (total > UINT32_MAX) return fail(NULL, 0, "workflow step %s: input too large", s->id);
      joined = malloc(total ? (size_t)total : 1);
      if (joined == NULL) return fail(NULL, 0, "workflow step %s: out of memory", s->id);
      in_len = 0;
      for (uint32_t k = s->first; k < s->first + s->count; ++k) {
        const Step* dep = &steps[after_steps[k]];
        if (dep->out_len) memcpy(joined + in_len, dep->out, dep->out_len);
        in_len += dep->out_len;
      }
      in = joined;
    }
    uint8_t* out = NULL;
    uint32_t out_len = 0;
    int32_t st = cwasi_call(s->target, (uint32_t)strlen(s->target), in, in_len, 0, &out, &out_len);
    free(joined);
    if (st != CWASI_OK) {
      const int with_text = st == CWASI_ERR_FUNCTION_FAILED && out_len > 0;
      int32_t rc = fail(out, with_text ? out_len : 0, "workflow step %s (%s): cwasi status %d%s",
                        s->id, s->target, (int)st, with_text ? ": " : "");
      free(out);
      return rc;
    }
    s->out = out;
    s->out_len = out_len;
  }

  uint64_t total = 0;
  for (uint32_t i = 0; i < n_steps; ++i) {
    if (!steps[i].followed) total += steps[i].out_len;
  }
  if (total > UINT32_MAX) return fail(NULL, 0, "workflow: output too large");
  uint8_t* body = malloc(total ? (size_t)total : 1);
  if (body == NULL) return fail(NULL, 0, "workflow: out of memory");
  uint32_t at = 0;
  for (uint32_t i = 0; i < n_steps; ++i) {
    if (steps[i].followed || steps[i].out_len == 0) continue;
    memcpy(body + at, steps[i].out, steps[i].out_len);
    at += steps[i].out_len;
  }
  clear();
  return respond(body, at) == CWASI_OK ? 0 : 1;
}

CWASI_HANDLER(run)
