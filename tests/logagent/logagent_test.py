"""tests/logagent/logagent_test.py - ringkv-logagent end to end with real processes on loopback: a
1-member ringkv, librdkafka's mock cluster (kafka_mock_cluster), the agent; lines read back from the
JSON-lines file sink or with kcat. Cases: sources added / changed / removed / invalid while lines are
written; a change made between the agent's Get and Watch, and a compaction past its watch revision;
rotation by rename and by copytruncate; kill -9 of the agent mid-stream (every line arrives at least
once, duplicates counted), SIGTERM saving offsets (a restart repeats nothing); Produce requests failing
with a non-retriable error (produced again, all arrive); brokers down for a
while (bounded queue and memory, everything arrives after); globs, defaults, multi-line and overlong
lines; and on a 3-member ringkv, a config change made after its leader was killed."""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

from logagent_process import (Agent, LineWriter, MockKafka, RingkvServer, log_entries,  # noqa: E402
                              sequence_numbers, wait_for)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from cluster_test import Cluster  # noqa: E402  (3 ringkv members on loopback, stopped by PID)


def file_sink_records(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


class LogAgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RingkvServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="logagent-files-", dir="/tmp")
        self.sink_path = os.path.join(self.dir, "sink.jsonl")
        self.agents = []
        self.mocks = []

    def tearDown(self):
        if os.environ.get("LOGAGENT_TEST_SHOW_LOGS"):
            for agent in self.agents:
                print(agent.log_text())
        for agent in self.agents:
            agent.cleanup()
        for mock in self.mocks:
            mock.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def agent(self, host, sink=None, env=None, extra_args=()):
        a = Agent(self.server.endpoint, host, sink or "file:" + self.sink_path, env, extra_args)
        self.agents.append(a)
        return a.start()

    def put_source(self, host, name, **config):
        self.server.etcdctl("put", "/logagent/%s/sources/%s" % (host, name), json.dumps(config))

    def lines(self, topic=None):
        return [r["value"]["line"] for r in file_sink_records(self.sink_path) if topic is None or r["topic"] == topic]

    def assert_all_arrived(self, got, tag, count):
        seen = sequence_numbers(got, tag)
        missing = sorted(set(range(count)) - set(seen))
        self.assertEqual(missing[:20], [], "%d of %d lines missing" % (len(missing), count))
        return len(seen) - len(set(seen))  # duplicates

    def test_sources_added_changed_removed_and_invalid(self):
        host = "h-config"
        log_path = os.path.join(self.dir, "app.log")
        writer = LineWriter(log_path, "a")
        writer.write(100)
        agent = self.agent(host)
        self.put_source(host, "app", path=log_path, topic="t1", fields={"env": "test"})
        wait_for(lambda: len(self.lines("t1")) >= 100, 15, "the first 100 lines")
        record = file_sink_records(self.sink_path)[0]
        self.assertEqual(record["key"], host + ":" + log_path)
        self.assertEqual(record["value"]["env"], "test")
        # Changed while writing: new lines go to the new topic, none is lost (the new runner resumes
        # from the acknowledged offset).
        writer.write(100)
        self.put_source(host, "app", path=log_path, topic="t2")
        wait_for(lambda: [e for e in log_entries(agent.log_text(), "logagent: source started") if e["topic"] == "t2"],
                 10, "the changed source")
        writer.write(100)
        wait_for(lambda: len(self.lines("t2")) > 0 and self.assert_all_arrived(self.lines(), "a", 300) >= 0, 15,
                 "lines on the changed topic")
        # Invalid: reported in the log and the status key, skipped; the agent keeps running.
        self.put_source(host, "bad", path="relative.log", topic="t1")
        self.server.etcdctl("put", "/logagent/%s/sources/typo" % host, '{"path":"/x","topik":"t"}')
        wait_for(lambda: log_entries(agent.log_text(), "logagent: invalid source skipped"), 10, "the invalid log line")
        status = wait_for(lambda: self.status(host).get("sources", {}).get("typo"), 10, "the status entry")
        self.assertEqual(status["state"], "invalid")
        self.assertIn("topik", status["error"])
        self.assertIsNone(agent.proc.poll())
        # Removed: later lines are not sent.
        self.server.etcdctl("del", "/logagent/%s/sources/app" % host)
        wait_for(lambda: [e for e in log_entries(agent.log_text(), "logagent: source stopped") if not e["changed"]], 10,
                 "the source to stop")
        time.sleep(0.3)
        before = len(self.lines())
        writer.write(50)
        time.sleep(1.0)
        self.assertEqual(len(self.lines()), before)
        self.assertGreaterEqual(agent.metrics()["logagent_lines_sent_total"], 300)
        self.assertEqual(agent.stop(), 0)

    def status(self, host):
        out = self.server.etcdctl("get", "/logagent/%s/status" % host, "--print-value-only")
        text = out.stdout.strip() if hasattr(out, "stdout") else str(out).strip()
        return json.loads(text) if text else {}

    def test_change_between_get_and_watch_and_compaction(self):
        log_path = os.path.join(self.dir, "gap.log")
        writer = LineWriter(log_path, "g")
        writer.write(20)
        # A put while the agent sits between its Get and its Watch: the watch from Get's revision + 1
        # must deliver it.
        agent = self.agent("h-gap", env={"RINGKV_LOGAGENT_TEST_PAUSE_AFTER_GET_MS": "1500"})
        wait_for(lambda: log_entries(agent.log_text(), "logagent: config read"), 10, "the Get")
        self.put_source("h-gap", "gap", path=log_path, topic="gap")
        wait_for(lambda: len(self.lines("gap")) >= 20, 15, "lines of the source put between Get and Watch")
        # Compacted past the watch's start revision: the agent must Get again and reconcile.
        agent2 = self.agent("h-compact", env={"RINGKV_LOGAGENT_TEST_PAUSE_AFTER_GET_MS": "3000"})  # put + compact fit in
        wait_for(lambda: log_entries(agent2.log_text(), "logagent: config read"), 10, "the Get")
        self.put_source("h-compact", "c", path=log_path, topic="compacted")
        revision = json.loads(self.server.etcdctl("put", "/logagent/bump", "x", "-w", "json").stdout)["header"]["revision"]
        self.server.etcdctl("compact", str(revision))
        wait_for(lambda: log_entries(agent2.log_text(), "logagent: config watch ended, reading again"), 10,
                 "the compacted watch")
        wait_for(lambda: len(self.lines("compacted")) >= 20, 15, "lines after the re-read")

    def test_glob_defaults_multiline_and_long_lines(self):
        host = "h-shape"
        self.server.etcdctl("put", "/logagent/defaults/base",
                            json.dumps({"topic": "shape", "fields": {"dc": "d1"}, "maxLineBytes": 100}))
        try:
            agent = self.agent(host)
            self.put_source(host, "g", path=os.path.join(self.dir, "g-*.log"), multilineStart="^\\S")
            wait_for(lambda: log_entries(agent.log_text(), "logagent: source started"), 10, "the source")
            with open(os.path.join(self.dir, "g-1.log"), "w") as f:  # created after the source: the glob finds it
                f.write("first 1\n  at a\n  at b\nsecond 2\n" + "L" * 250 + "\nthird 3\n")
            records = wait_for(lambda: len(file_sink_records(self.sink_path)) >= 4 and file_sink_records(self.sink_path),
                               15, "the records of g-1.log")
            self.assertEqual([r["value"]["line"] for r in records],
                             ["first 1\n  at a\n  at b", "second 2", "L" * 100, "third 3"])  # the last by timeout
            self.assertTrue(all(r["topic"] == "shape" and r["value"]["dc"] == "d1" for r in records))
            self.assertGreaterEqual(agent.metrics()["logagent_lines_truncated_total"], 1)
            with open(os.path.join(self.dir, "g-2.log"), "w") as f:
                f.write("other 1\n")
            wait_for(lambda: "other 1" in self.lines(), 15, "the second file of the glob")
            self.assertEqual(agent.stop(), 0)
        finally:
            self.server.etcdctl("del", "/logagent/defaults/base")

    def test_rotation_by_rename_and_copytruncate(self):
        log_path = os.path.join(self.dir, "rot.log")
        writer = LineWriter(log_path, "r")
        agent = self.agent("h-rot")
        self.put_source("h-rot", "rot", path=log_path, topic="rot")
        writer.write(1)
        wait_for(lambda: self.lines("rot"), 10, "the agent to tail the file")
        for round_ in range(3):  # rename rotation under load: the old file is drained before the switch
            writer.write(2000)
            os.rename(log_path, log_path + ".%d" % round_)
            writer.write(500)
            time.sleep(0.5)  # rotations further apart than a poll (one in between would be missed)
        wait_for(lambda: set(range(writer.next)) <= set(sequence_numbers(self.lines("rot"), "r")), 20,
                 "every line across rename rotations")
        # copytruncate: lines written after the truncation are read from the new start of the file.
        # (Lines written between the agent's last read and the truncation exist only in the copy: here
        # the test lets the agent catch up first - copytruncate cannot be lossless without that.)
        shutil.copy(log_path, log_path + ".copy")
        open(log_path, "w").close()
        writer.write(300)
        wait_for(lambda: set(range(writer.next)) <= set(sequence_numbers(self.lines("rot"), "r")), 20,
                 "the lines after copytruncate")
        self.assertEqual(agent.stop(), 0)

    def test_kafka_kill9_restart_and_brokers_down(self):
        mock = MockKafka(3)
        self.mocks.append(mock)
        mock.command("topic logs 2")
        log_path = os.path.join(self.dir, "k.log")
        writer = LineWriter(log_path, "k")
        sink = "kafka:" + mock.bootstrap
        # A small in-flight bound, so that filling it while the brokers are down stays within the mock
        # cluster's retention (librdkafka's mock partitions keep about 5 MB).
        agent = self.agent("h-kafka", sink=sink, extra_args=["--max-in-flight-records", "2000"])
        self.put_source("h-kafka", "k", path=log_path, topic="logs")
        writer.write(3000)
        wait_for(lambda: agent.metrics().get("logagent_lines_sent_total", 0) >= 1000, 15, "the first lines")
        time.sleep(1.2)  # the offsets were saved at least once
        writer.write(3000)
        wait_for(lambda: agent.metrics().get("logagent_lines_read_total", 0) > 3000, 15, "reading the second batch")
        agent.kill()  # kill -9 mid-stream: records read, some not acknowledged or not saved
        writer.write(1000)
        agent.start()  # same state dir: resumes from the saved (acknowledged) offsets
        wait_for(lambda: agent.metrics().get("logagent_queue_records", 1) == 0 and
                 len(mock.read_topic("logs")) >= writer.next, 30, "delivery after the restart")
        duplicates = self.assert_all_arrived([m["line"] for m in mock.read_topic("logs")], "k", writer.next)
        print("kill -9: %d lines, %d duplicates" % (writer.next, duplicates))
        # The restart resumed from the saved offsets, not from 0: 1000 lines were acknowledged more than
        # a save period before the kill, and none of them came twice.
        early = [n for n in sequence_numbers([m["line"] for m in mock.read_topic("logs")], "k") if n < 1000]
        self.assertEqual(len(early), 1000)
        # SIGTERM drains and saves: a restart repeats nothing.
        self.assertEqual(agent.stop(), 0)
        delivered = len(mock.read_topic("logs"))
        agent.start()
        time.sleep(1.5)
        self.assertEqual(len(mock.read_topic("logs")), delivered)
        # Produce requests refused with a non-retriable error (TOPIC_AUTHORIZATION_FAILED, 29): librdkafka
        # reports the records failed; the agent produces them again (after 1 s) and they all arrive.
        self.assertEqual(mock.command("produce-errors 3 29"), ["produce-errors 3 Broker: Topic authorization failed"])
        writer.write(100)
        wait_for(lambda: agent.metrics().get("logagent_queue_records", 1) == 0 and
                 set(range(writer.next)) <= set(sequence_numbers([m["line"] for m in mock.read_topic("logs")], "k")),
                 30, "the records whose delivery failed")
        failed = agent.metrics()["logagent_lines_failed_total"]
        print("failed deliveries retried: %d" % failed)
        self.assertGreater(failed, 0)  # the failure path was taken
        # Brokers down: the queue stays within its bound; everything arrives once they are back.
        rss_before = agent.rss_kib()
        mock.command("down all", 3)
        writer.write(6000)
        wait_for(lambda: agent.metrics().get("logagent_queue_records", 0) >= 2000, 20, "the queue to fill")
        time.sleep(1.0)
        metrics = agent.metrics()
        self.assertLessEqual(metrics["logagent_queue_records"], 2000)
        self.assertLess(metrics["logagent_lines_read_total"], writer.next)  # reading stopped (backpressure)
        self.assertLess(agent.rss_kib() - rss_before, 100 * 1024)
        mock.command("up all", 3)
        wait_for(lambda: agent.metrics().get("logagent_lines_sent_total", 0) >= 6000 and
                 agent.metrics().get("logagent_queue_records", 1) == 0, 60, "catching up after the brokers came back")
        # (kcat may read a partition short while its leader settles after the brokers came back: read again)
        wait_for(lambda: set(range(writer.next)) <= set(sequence_numbers([m["line"] for m in mock.read_topic("logs")], "k")),
                 30, "every line in the topic")
        duplicates = self.assert_all_arrived([m["line"] for m in mock.read_topic("logs")], "k", writer.next)
        print("brokers down: %d lines in all, %d duplicates" % (writer.next, duplicates))
        self.assertEqual(agent.stop(), 0)


class LogAgentLeaderKillTest(unittest.TestCase):
    """A 3-member ringkv: the leader is killed (-9); a config change made afterwards still reaches the
    agent (its watch resumes on a live member), and its status key is kept."""

    def test_config_changes_arrive_after_leader_kill(self):
        directory = tempfile.mkdtemp(prefix="logagent-files-", dir="/tmp")
        sink_path = os.path.join(directory, "sink.jsonl")
        cluster = Cluster(3).start()
        agent = None
        try:
            leader = cluster.agreed_leader()
            self.assertIsNotNone(leader, "no leader")
            endpoints = ",".join(m.endpoint for m in [leader] + [m for m in cluster.members if m is not leader])
            agent = Agent(endpoints, "h-ha", "file:" + sink_path).start()  # dials the leader first
            log_path = os.path.join(directory, "ha.log")
            writer = LineWriter(log_path, "h")
            writer.write(50)
            leader.etcdctl("put", "/logagent/h-ha/sources/s", json.dumps({"path": log_path, "topic": "before"}))
            wait_for(lambda: len(file_sink_records(sink_path)) >= 50, 15, "lines before the kill")
            leader.kill()
            survivor = cluster.agreed_leader()
            self.assertIsNotNone(survivor, "no new leader")
            survivor.etcdctl("put", "/logagent/h-ha/sources/s", json.dumps({"path": log_path, "topic": "after"}))
            wait_for(lambda: [e for e in log_entries(agent.log_text(), "logagent: source started")
                              if e["topic"] == "after"], 20, "the change made after the leader kill")
            writer.write(50)
            wait_for(lambda: len([r for r in file_sink_records(sink_path) if r["topic"] == "after"]) >= 50, 15,
                     "lines on the new topic")
            def source_status():
                text = survivor.etcdctl("get", "/logagent/h-ha/status", "--print-value-only").stdout.strip()
                return json.loads(text).get("sources", {}).get("s") if text else None
            self.assertEqual(wait_for(source_status, 15, "the status key")["state"], "running")  # put every 2 s
            self.assertEqual(agent.stop(), 0)
        finally:
            if agent is not None:
                agent.cleanup()
            cluster.cleanup()
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
