// logagent/agent.cc - reconcile, poll, status and metrics text.
#include "logagent/agent.h"

#include <unistd.h>

#include <cstring>

#include "runtime/json_text.h"
#include "runtime/log.h"

namespace ringkv::logagent {

void agent::reconcile(const desired_config& desired) {
  sink_.poll();  // acknowledgements that are in move the offsets a restarted source resumes from
  std::map<std::string, std::string> invalid;
  std::map<std::string, source_spec> wanted;
  for (const auto& [name, json] : desired.sources) {
    if (name.empty() || name.find_first_of(" \t\n/") != std::string::npos) {
      invalid[name] = "source name must be non-empty without spaces or '/'";
      continue;
    }
    if (wanted.size() >= sources_limit) {
      invalid[name] = "more than " + std::to_string(sources_limit) + " sources";
      continue;
    }
    parsed_source parsed = parse_source(name, json, desired.defaults);
    if (!parsed.ok()) {
      invalid[name] = parsed.error;
      continue;
    }
    wanted.emplace(name, std::move(parsed.spec));
  }
  for (const auto& [name, why] : invalid) {
    auto known = invalid_.find(name);
    if (known == invalid_.end() || known->second != why) {
      ++counters_.config_errors;
      log::warn("logagent: invalid source skipped", {{"source", name}, {"error", why}});
    }
  }
  invalid_ = std::move(invalid);
  for (auto it = runners_.begin(); it != runners_.end();) {
    auto want = wanted.find(it->first);
    if (want == wanted.end() || !(want->second == it->second->spec())) {
      log::info("logagent: source stopped", {{"source", it->first}, {"changed", want != wanted.end()}});
      it = runners_.erase(it);  // its tailers detach; in-flight records still acknowledge (harmless)
    } else {
      ++it;
    }
  }
  for (auto& [name, spec] : wanted) {
    if (runners_.count(name) != 0) continue;
    log::info("logagent: source started", {{"source", name}, {"path", spec.path}, {"topic", spec.topic}});
    runners_.emplace(name, std::make_unique<source_runner>(
                               std::move(spec), runner_context{host_, store_, counters_, budget_, sink_}));
  }
}

void agent::poll() {
  sink_.poll();
  for (auto& [name, runner] : runners_) runner->poll();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_save_ >= save_period) {
    last_save_ = now;
    if (const int rc = store_.save(); rc != 0) log::warn("logagent: saving offsets failed", {{"error", std::strerror(-rc)}});
  }
}

int agent::drain_and_save(int timeout_ms) {
  sink_.flush(timeout_ms);
  if (budget_.records > 0) log::warn("logagent: unacknowledged records at shutdown", {{"records", budget_.records}});
  return store_.save();
}

std::string agent::status_json() const {
  std::string out = "{\"host\":";
  runtime::append_json_string(out, host_);
  out += ",\"pid\":" + std::to_string(::getpid()) + ",\"sink\":\"" + sink_.name() + "\",\"sources\":{";
  bool first = true;
  for (const auto& [name, runner] : runners_) {
    if (!first) out += ',';
    first = false;
    runtime::append_json_string(out, name);
    out += ":{\"state\":\"running\",\"files\":[";
    bool first_file = true;
    for (const auto& [path, tailer] : runner->files()) {
      if (!first_file) out += ',';
      first_file = false;
      out += "{\"path\":";
      runtime::append_json_string(out, path);
      out += ",\"acked\":" + std::to_string(tailer->acked_offset()) + ",\"size\":" + std::to_string(tailer->size());
      if (!tailer->error().empty()) {
        out += ",\"error\":";
        runtime::append_json_string(out, tailer->error());
      }
      out += '}';
    }
    out += "]}";
  }
  for (const auto& [name, why] : invalid_) {
    if (!first) out += ',';
    first = false;
    runtime::append_json_string(out, name);
    out += ":{\"state\":\"invalid\",\"error\":";
    runtime::append_json_string(out, why);
    out += '}';
  }
  out += "},\"lines_sent\":" + std::to_string(counters_.lines_sent) + "}";
  return out;
}

std::string agent::metrics_text() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(value) + "\n";
  };
  counter("logagent_lines_read_total", "Records read from files.", counters_.lines_read);
  counter("logagent_lines_sent_total", "Records the sink acknowledged.", counters_.lines_sent);
  counter("logagent_lines_failed_total", "Delivery attempts that failed (retried).", counters_.lines_failed);
  counter("logagent_lines_truncated_total", "Lines cut to max_line_bytes.", counters_.lines_truncated);
  counter("logagent_config_errors_total", "Invalid sources seen.", counters_.config_errors);
  out += "# HELP logagent_queue_records Records sent and not yet acknowledged.\n# TYPE logagent_queue_records gauge\n";
  out += "logagent_queue_records " + std::to_string(budget_.records) + "\n";
  out += "# HELP logagent_queue_bytes Bytes of records not yet acknowledged.\n# TYPE logagent_queue_bytes gauge\n";
  out += "logagent_queue_bytes " + std::to_string(budget_.bytes) + "\n";
  out += "# HELP logagent_sources Sources running.\n# TYPE logagent_sources gauge\n";
  out += "logagent_sources " + std::to_string(runners_.size()) + "\n";
  out += "# HELP logagent_lag_bytes File bytes not yet acknowledged.\n# TYPE logagent_lag_bytes gauge\n";
  for (const auto& [name, runner] : runners_) {
    for (const auto& [path, tailer] : runner->files()) {
      const uint64_t lag = tailer->size() > tailer->acked_offset() ? tailer->size() - tailer->acked_offset() : 0;
      std::string labels = "{source=";
      runtime::append_json_string(labels, name);
      labels += ",path=";
      runtime::append_json_string(labels, path);
      out += "logagent_lag_bytes" + labels + "} " + std::to_string(lag) + "\n";
    }
  }
  return out;
}

}  // namespace ringkv::logagent
