"""Faults on the real collector running the generated config: each one must lose no span.

* Tempo (the sink) down for 30 s while spans keep coming: the persistent sending queue holds them.
* The collector SIGKILLed and restarted mid-stream, with Tempo down across the kill so the queue is
  not empty, right after the collector acknowledged every span sent so far: the file_storage
  queue survives the process. A control run without the queue's storage loses spans under the
  same fault, which shows the test can see a loss.
* A burst beyond the memory limiter: clients get retryable refusals and the SDK's retries deliver.

Counts are printed as ``sent= received= lost=`` lines (``pytest -s`` shows them).
"""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

from offline.plan import Plan
from tests.pipeline.collector import chart_values, effective_config, generated_config, running_pipeline
from tests.pipeline.traffic import OtlpClient, Sent, compare, retry_warnings

SINK_DOWN_SECONDS = 30
BURST_DEADLINE_S = 120
"""How long the burst test keeps bursting until the limiter refuses one (it does within seconds)."""
BURST_LIMIT_MIB = 64
"""The burst test's memory limit: the smallest the stack config accepts (``tracing.collector.memoryLimitMib``),
so a burst a laptop can send in a second goes over it; the deployed default (400 MiB) needs a far bigger one."""


def dev_config(plan: Plan) -> dict[str, Any]:
    return effective_config(chart_values(plan))


def persistent_queues(config: dict[str, Any]) -> dict[str, str]:
    """``{exporter: storage extension}`` for every exporter whose sending queue is on disk."""
    return {
        name: exporter["sending_queue"]["storage"]
        for name, exporter in (config.get("exporters") or {}).items()
        if isinstance(exporter, dict) and (exporter.get("sending_queue") or {}).get("storage")
    }


class Stream:
    """Spans sent at a steady rate from a background thread, until ``count`` or a deadline."""

    def __init__(self, endpoint: str, count: int, rate: float, run: str) -> None:
        self.sent = Sent()
        # 60 s per export, retries included: a loaded CI machine must not turn a slow ack into a drop.
        self.client = OtlpClient("grpc", endpoint, service=f"fault-{run}", export_timeout=60, resend=True)
        self.thread = threading.Thread(
            target=self.client.send,
            args=(self.sent, count, run),
            kwargs={"rate": rate, "deadline": time.monotonic() + count / rate + 30},
        )

    def __enter__(self) -> Stream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(120)
        self.client.close()
        if self.client.resending and self.client.resending.resent:
            print(f"[client] re-sent {self.client.resending.resent} batches the SDK had given up on")


def test_sink_down_30s_loses_nothing(collector_binary: Path, tmp_path: Path, dev_plan: Plan) -> None:
    config = dev_config(dev_plan)
    assert persistent_queues(config), "the generated config has no persistent sending queue"
    with running_pipeline(collector_binary, config, tmp_path) as pipeline:
        sinks = list(pipeline.sinks.values())
        with Stream(pipeline.collector.otlp_grpc, count=(SINK_DOWN_SECONDS + 6) * 100, rate=100, run="sink-down") as s:
            time.sleep(2)
            for sink in sinks:
                sink.stop()
            down_at = time.monotonic()
            time.sleep(SINK_DOWN_SECONDS)
            queued = pipeline.collector.metric("otelcol_exporter_queue_size")
            received_while_down = sum(sink.count() for sink in sinks)
            for sink in sinks:
                sink.start()
            print(f"[sink down] {time.monotonic() - down_at:.0f} s down, queue held {queued:.0f} batches")
        for name, sink in pipeline.sinks.items():
            sink.wait_for(len(s.sent), timeout=90)
            outcome = compare(s.sent, sink, f"sink down {SINK_DOWN_SECONDS} s -> {name}")
            assert outcome.lost == 0 and outcome.wrong_attributes == []
        assert queued > 0 and received_while_down < len(s.sent), "the fault did not happen: the sink kept receiving"


def _kill_and_restart(
    binary: Path, config: dict[str, Any], workdir: Path, name: str, wait: float = 60
) -> tuple[int, int, float]:
    """Stream; Tempo down; SIGKILL the collector while its queue holds spans; restart; Tempo up."""
    with running_pipeline(binary, config, workdir) as pipeline:
        sinks = list(pipeline.sinks.values())
        with Stream(pipeline.collector.otlp_grpc, count=1600, rate=200, run=name) as stream:
            time.sleep(2)
            for sink in sinks:
                sink.stop()
            time.sleep(2)
            queued = pipeline.collector.metric("otelcol_exporter_queue_size")
            # Kill right after the collector acknowledged everything sent so far: an acknowledged span
            # must already be on disk, not in an in-memory stage (a batch processor) in front of the queue.
            stream.client.provider.force_flush(30_000)
            pipeline.collector.kill()
            time.sleep(1)
            pipeline.collector.start()  # same config, same storage directory, same ports
            time.sleep(1)
            for sink in sinks:
                sink.start()
        lost = 0
        for exporter, sink in pipeline.sinks.items():
            sink.wait_for(len(stream.sent), timeout=wait)
            lost = max(lost, compare(stream.sent, sink, f"{name} -> {exporter}").lost)
        return len(stream.sent), lost, queued


def test_collector_sigkill_restart_loses_nothing(collector_binary: Path, tmp_path: Path, dev_plan: Plan) -> None:
    config = dev_config(dev_plan)
    assert persistent_queues(config), "the generated config has no persistent sending queue"
    sent, lost, queued = _kill_and_restart(collector_binary, config, tmp_path / "persistent", "sigkill")
    assert queued > 0, "the queue was empty at the kill: the fault proved nothing"
    assert lost == 0, (
        f"{lost} of {sent} spans lost across a SIGKILL: acknowledged spans died with the process, so a stage "
        "before the persistent queue holds them in memory (a batch processor: batch in sending_queue.batch instead)"
    )

    in_memory = copy.deepcopy(config)
    for exporter in persistent_queues(in_memory):
        del in_memory["exporters"][exporter]["sending_queue"]["storage"]
    _, control_lost, _ = _kill_and_restart(
        collector_binary, in_memory, tmp_path / "control", "sigkill-in-memory", wait=15
    )
    assert control_lost > 0, "without the file_storage queue the kill lost nothing: the test cannot see a loss"


def test_burst_beyond_memory_limiter_loses_nothing(collector_binary: Path, tmp_path: Path) -> None:
    config = generated_config("dev", {"tracing.collector.memoryLimitMib": str(BURST_LIMIT_MIB)})
    limiters = [p for n, p in config["processors"].items() if n.split("/")[0] == "memory_limiter"]
    assert limiters and all(p.get("limit_mib") == BURST_LIMIT_MIB for p in limiters), limiters
    with running_pipeline(collector_binary, config, tmp_path) as pipeline, retry_warnings() as warnings:
        sent = Sent()
        refused = 0.0
        attempt = 0
        deadline = time.monotonic() + BURST_DEADLINE_S
        # The limiter samples the heap once a second and first collects garbage when over the hard limit,
        # so it refuses only when a sample lands while the burst's data is live: a fast, quiet machine can
        # slip a burst between samples. Burst again until one is refused (each burst's spans still count).
        while not refused and time.monotonic() < deadline:
            attempt += 1
            # 8 clients x 1500 spans x 4 KB, in 1 MiB requests (under the receiver's 4 MiB limit). The SDK's
            # own retries must deliver; its deadline is long so a loaded machine's slow ack is not a drop.
            clients = [
                OtlpClient("grpc", pipeline.collector.otlp_grpc, f"burst-{i}", export_timeout=120, batch_size=256)
                for i in range(8)
            ]
            threads = [
                threading.Thread(target=c.send, args=(sent, 1500, f"burst{attempt}-{i}"), kwargs={"payload": 4000})
                for i, c in enumerate(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(300)
            for client in clients:
                client.close()
            refused = pipeline.collector.metric("otelcol_receiver_refused_spans")
        pipeline.collector.sample()
        print(
            f"[burst] limiter refused {refused:.0f} spans by burst {attempt}, {len(warnings)} client retries, "
            f"collector peak RSS {pipeline.collector.peak_rss_kib // 1024} MiB"
        )
        for name, sink in pipeline.sinks.items():
            sink.wait_for(len(sent), timeout=60)
            outcome = compare(sent, sink, f"burst -> {name}")
            assert outcome.lost == 0 and outcome.wrong_attributes == []
    assert refused > 0, "the burst never went over the memory limiter: nothing was proven"
    assert warnings, "the clients never saw a retryable refusal"
