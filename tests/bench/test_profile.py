"""The profile's arithmetic: Envoy's ext_proc counters, py-spy's raw stacks, and threads' CPU from /proc."""
import os

from tests.bench.profile import ext_proc_counts, hottest, thread_cpu_ms


def test_ext_proc_counters_are_read_from_envoys_stats_and_nothing_else():
    text = ("http.http.ext_proc.stream_msgs_sent: 40\nhttp.http.ext_proc.stream_msgs_received: 41\n"
            "http.http.ext_proc.streams_started: 10\nhttp.admin.ext_proc.stream_msgs_sent: 7\n"
            "cluster.sidecar.upstream_rq_total: 12\n")
    assert ext_proc_counts(text) == {"stream_msgs_sent": 40, "stream_msgs_received": 41, "streams_started": 10}


def test_frames_are_counted_once_per_stack_inclusive_and_at_the_leaf_for_self():
    raw = ["main (a.py:1);serve (b.py:5);serve (b.py:9);log (c.py:3) 30",
           "main (a.py:1);serve (b.py:7) 70",
           "not a stack line"]
    total, inclusive, own = hottest(raw)
    assert total == 100
    assert dict(inclusive) == {"main (a.py)": 100, "serve (b.py)": 100, "log (c.py)": 30}  # recursion counted once
    assert dict(own) == {"serve (b.py)": 70, "log (c.py)": 30}


def test_this_process_threads_have_their_cpu_time_and_names():
    sum(range(2_000_000))  # some CPU time of the main thread's own
    threads = thread_cpu_ms(os.getpid())
    main = [ms for (pid, tid, _name), ms in threads.items() if pid == tid == os.getpid()]
    assert len(main) == 1 and main[0] > 0
