// logagent/kafka_sink.h - delivery to Kafka through librdkafka: acks=all, enable.idempotence=true,
// message.timeout.ms=0 (a message is retried by librdkafka until the broker takes it, in order, however
// long the brokers are down: the agent's in_flight_budget bounds how many wait meanwhile).
// librdkafka runs its own threads; this object only calls its non-blocking entry points from the
// agent's thread (produce, poll with timeout 0 - which runs the delivery reports that acknowledge
// records); the blocking flush is for shutdown only.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "logagent/delivery.h"

namespace ringkv::logagent {

class kafka_sink final : public line_sink {
 public:
  static constexpr std::chrono::seconds failed_retry_pause{1};  // before a failed delivery is produced again

  // nullptr and `error` when librdkafka refuses the configuration.
  static std::unique_ptr<kafka_sink> create(const std::string& brokers, in_flight_budget& budget,
                                            agent_counters& counters, std::string& error);
  ~kafka_sink() override;

  void send(record r) override;
  void poll() override;
  void flush(int timeout_ms) override;
  const std::string& fatal_error() const override { return fatal_error_; }
  const char* name() const override { return "kafka"; }

 private:
  kafka_sink(in_flight_budget& budget, agent_counters& counters) : budget_(budget), counters_(counters) {}
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  bool produce(record* r);  // false: librdkafka's queue refused it (kept in retry_)
  void retry_refused();

  in_flight_budget& budget_;
  agent_counters& counters_;
  rd_kafka_t* producer_ = nullptr;
  std::deque<record*> retry_;  // refused by produce or failed delivery; sent again by poll()
  std::string fatal_error_;
  std::chrono::steady_clock::time_point retry_after_{};  // no retries before (a delivery failed)
  bool closing_ = false;  // the destructor purges: reports free records without acknowledging them
};

}  // namespace ringkv::logagent
