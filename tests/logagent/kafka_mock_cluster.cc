// tests/logagent/kafka_mock_cluster.cc - librdkafka's in-process mock Kafka cluster as a process for the
// logagent tests: prints "bootstrap <servers>" on stdout, then obeys stdin commands until SIGTERM/SIGINT
// or end of input:
//   down <broker id>|all     the broker(s) stop answering (connections are closed)
//   up <broker id>|all       ... and come back
//   topic <name> <partitions>  creates a topic (replication factor 1)
//   produce-errors <count> <kafka error code>  the next <count> Produce requests fail with that code
// Usage: kafka_mock_cluster [brokers (default 3)]
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t stopping = 0;
void on_signal(int) { stopping = 1; }

void set_brokers(rd_kafka_mock_cluster_t* cluster, int brokers, const std::string& which, bool up) {
  for (int id = 1; id <= brokers; ++id) {
    if (which != "all" && which != std::to_string(id)) continue;
    const rd_kafka_resp_err_t err =
        up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id);
    std::printf("%s %d %s\n", up ? "up" : "down", id, rd_kafka_err2str(err));
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int brokers = argc > 1 ? std::atoi(argv[1]) : 3;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (handle == nullptr) {
    std::fprintf(stderr, "rd_kafka_new: %s\n", error);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  std::printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  std::string pending;
  while (!stopping) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    if (::poll(&in, 1, 200) <= 0) continue;
    char chunk[256];
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n <= 0) break;
    pending.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::istringstream command(pending.substr(0, newline));
      pending.erase(0, newline + 1);
      std::string verb, arg;
      int partitions = 1;
      command >> verb >> arg;
      if (verb == "down" || verb == "up") {
        set_brokers(cluster, brokers, arg, verb == "up");
      } else if (verb == "produce-errors") {
        const size_t count = static_cast<size_t>(std::atoi(arg.c_str()));
        int code = 0;
        command >> code;
        std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(code));
        constexpr int16_t produce_api_key = 0;
        rd_kafka_mock_push_request_errors_array(cluster, produce_api_key, errors.size(), errors.data());
        std::printf("produce-errors %zu %s\n", count, rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(code)));
        std::fflush(stdout);
      } else if (verb == "topic") {
        command >> partitions;
        std::printf("topic %s %s\n", arg.c_str(),
                    rd_kafka_err2str(rd_kafka_mock_topic_create(cluster, arg.c_str(), partitions, 1)));
        std::fflush(stdout);
      }
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return 0;
}
