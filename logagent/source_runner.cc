// logagent/source_runner.cc - glob expansion, the per-source rate bucket and the record's JSON.
#include "logagent/source_runner.h"

#include <glob.h>

#include <algorithm>

#include "runtime/json_text.h"
#include "runtime/log.h"

namespace ringkv::logagent {

source_runner::source_runner(source_spec spec, runner_context context)
    : spec_(std::move(spec)), context_(std::move(context)) {}

void source_runner::rescan() {
  glob_t found{};
  if (::glob(spec_.path.c_str(), GLOB_NOSORT, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc && tailers_.size() < files_limit; ++i) {
      const std::string path = found.gl_pathv[i];
      if (tailers_.count(path) == 0) {
        tailers_.emplace(path, std::make_unique<file_tailer>(path, spec_, context_.store, context_.counters));
        log::info("logagent: tailing file", {{"source", spec_.name}, {"path", path}});
      }
    }
  }
  ::globfree(&found);
}

void source_runner::poll() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_rescan_ >= rescan_period) {
    last_rescan_ = now;
    rescan();
  }
  if (spec_.rate_lines_per_s > 0) {
    const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    tokens_ = std::min<double>(spec_.rate_lines_per_s, tokens_ + elapsed * spec_.rate_lines_per_s);
    last_refill_ = now;
  }
  for (auto it = tailers_.begin(); it != tailers_.end();) {
    if (it->second->poll(*this)) {
      ++it;
    } else {
      log::info("logagent: file gone", {{"source", spec_.name}, {"path", it->first}});
      it = tailers_.erase(it);
    }
  }
}

bool source_runner::can_emit() const {
  return !context_.budget.full() && (spec_.rate_lines_per_s == 0 || tokens_ >= 1);
}

void source_runner::emit(const std::string& path, uint64_t start_offset, std::string_view text,
                         const std::shared_ptr<file_progress>& progress, uint64_t end_offset) {
  record r;
  r.topic = spec_.topic;
  r.key = context_.host + ":" + path;
  std::string& json = r.payload;
  json.reserve(text.size() + 128);
  json += "{\"host\":";
  runtime::append_json_string(json, context_.host);
  json += ",\"source\":";
  runtime::append_json_string(json, spec_.name);
  json += ",\"path\":";
  runtime::append_json_string(json, path);
  json += ",\"offset\":" + std::to_string(start_offset) + ",\"line\":";
  runtime::append_json_string(json, text);
  for (const auto& [name, value] : spec_.fields) {
    json += ',';
    runtime::append_json_string(json, name);
    json += ':';
    runtime::append_json_string(json, value);
  }
  json += '}';
  r.progress = progress;
  r.end_offset = end_offset;
  if (spec_.rate_lines_per_s > 0) tokens_ -= 1;
  context_.budget.take(json.size());
  context_.sink.send(std::move(r));
}

}  // namespace ringkv::logagent
