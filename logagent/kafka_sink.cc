// logagent/kafka_sink.cc - librdkafka producer setup, produce, delivery reports -> acknowledgements.
#include "logagent/kafka_sink.h"

#include <chrono>

#include "runtime/log.h"

namespace ringkv::logagent {

namespace {
// Records librdkafka holds: above the agent's budget, so produce is not refused in practice.
constexpr const char* queue_messages_limit = "100000";
constexpr const char* queue_kbytes_limit = "131072";
}  // namespace

std::unique_ptr<kafka_sink> kafka_sink::create(const std::string& brokers, in_flight_budget& budget,
                                               agent_counters& counters, std::string& error) {
  std::unique_ptr<kafka_sink> sink(new kafka_sink(budget, counters));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char text[512];
  const std::pair<const char*, const char*> settings[] = {
      {"bootstrap.servers", brokers.c_str()},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"message.timeout.ms", "0"},
      {"queue.buffering.max.messages", queue_messages_limit},
      {"queue.buffering.max.kbytes", queue_kbytes_limit},
      {"linger.ms", "5"},
      {"client.id", "ringkv-logagent"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value, text, sizeof(text)) != RD_KAFKA_CONF_OK) {
      error = std::string(name) + ": " + text;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &kafka_sink::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &kafka_sink::on_error);
  rd_kafka_conf_set_opaque(conf, sink.get());
  sink->producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof(text));
  if (sink->producer_ == nullptr) {  // conf is still ours on failure
    error = text;
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return sink;
}

kafka_sink::~kafka_sink() {
  if (producer_ != nullptr) {
    // Records librdkafka still holds come back (purged) through on_delivery, which frees them.
    closing_ = true;
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
    rd_kafka_poll(producer_, 0);
    rd_kafka_destroy(producer_);
  }
  for (record* r : retry_) delete r;
}

bool kafka_sink::produce(record* r) {
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(r->topic.c_str()), RD_KAFKA_V_KEY(r->key.data(), r->key.size()),
      RD_KAFKA_V_VALUE(r->payload.data(), r->payload.size()), RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
  retry_.push_back(r);
  return false;
}

void kafka_sink::send(record r) {
  auto* owned = new record(std::move(r));
  if (!retry_.empty()) {  // keep a file's order behind records waiting for a retry
    retry_.push_back(owned);
    return;
  }
  produce(owned);
}

void kafka_sink::retry_refused() {
  while (!retry_.empty()) {
    record* r = retry_.front();
    retry_.pop_front();
    if (!produce(r)) {  // produce put it at the back: restore the order and wait
      retry_.pop_back();
      retry_.push_front(r);
      return;
    }
  }
}

void kafka_sink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* self = static_cast<kafka_sink*>(opaque);
  auto* r = static_cast<record*>(message->_private);
  if (self->closing_) {  // purged at shutdown: not acknowledged, the offsets stay before it
    delete r;
    return;
  }
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // librdkafka already retried what can be retried (no message timeout): this error is the
    // message's own (too large, not authorized, unknown topic...). Never dropped: it is produced again
    // after failed_retry_pause, and while it keeps failing the in-flight bound fills and reading stops.
    ++self->counters_.lines_failed;
    const auto now = std::chrono::steady_clock::now();
    if (now >= self->retry_after_) {
      log::warn("logagent: kafka delivery failed, retrying",
                {{"topic", r->topic}, {"error", rd_kafka_err2str(message->err)}});
    }
    self->retry_after_ = now + failed_retry_pause;
    self->retry_.push_back(r);
    return;
  }
  r->progress->acked(r->end_offset);
  self->budget_.give_back(r->payload.size());
  ++self->counters_.lines_sent;
  delete r;
}

void kafka_sink::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<kafka_sink*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char text[512];
    rd_kafka_fatal_error(rk, text, sizeof(text));
    self->fatal_error_ = text;
    log::error("logagent: kafka fatal error", {{"error", self->fatal_error_}});
    return;
  }
  log::debug("logagent: kafka error", {{"error", reason}});
}

void kafka_sink::poll() {
  rd_kafka_poll(producer_, 0);
  if (std::chrono::steady_clock::now() >= retry_after_) retry_refused();
}

void kafka_sink::flush(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (budget_.records > 0 && fatal_error_.empty() && std::chrono::steady_clock::now() < deadline) {
    retry_refused();
    rd_kafka_poll(producer_, 50);
  }
}

}  // namespace ringkv::logagent
