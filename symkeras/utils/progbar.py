"""The Keras progress bar (tf-keras format).

verbose=1: ``12/100 [==>...........................] - ETA: 3s - loss: 0.1234``, rewritten in
place on a terminal (at most every ``interval`` seconds); when the output is not a terminal
(a log file, a pipe) each update is a plain new line, written at most every
``Progbar.plain_interval`` seconds so that logs are not flooded. verbose=2: one line at the
end (``100/100 - 1s - loss: 0.1234 - 1s/epoch - 10ms/step``). The final update is always written.
"""

import sys
import time

import numpy as np


def format_duration(seconds, unit):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """Displays a progress bar; values are averaged over the steps unless stateful."""

    plain_interval = 10.0       # seconds between plain lines when the output is not a terminal

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step",
                 stream=None):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self.stream = stream
        out = self._out()
        self._dynamic = (hasattr(out, "isatty") and out.isatty()) or (stream is None and "ipykernel" in sys.modules)
        self._total_width, self._seen = 0, 0
        self._values, self._order = {}, []
        self._start = time.time()
        self._last_update = 0.0
        self._after_first_step = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            if name not in self._order:
                self._order.append(name)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                step = max(current - self._seen, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * step
                total[1] += step
        self._seen = current
        now = time.time()
        if self.verbose == 1:
            interval = self.interval if self._dynamic else max(self.interval, self.plain_interval)
            if now - self._last_update < interval and not finalize:
                return
            self._write(self._bar_line(current, now, finalize))
        elif self.verbose == 2 and finalize:
            self._write(self._summary_line(current, now))
        self._last_update = now

    def add(self, n, values=None):
        self.update(self._seen + n, values)

    def _average(self, name):
        total, count = self._values[name]
        return float(np.mean(total / max(1, count)))

    def _values_text(self, signed=False):
        text = ""
        for name in self._order:
            avg = self._average(name)
            big = avg > 1e-3 if signed else abs(avg) > 1e-3
            text += f" - {name}: {avg:.4f}" if big else f" - {name}: {avg:.4e}"
        return text

    def _bar_line(self, current, now, finalize):
        previous_width = self._total_width
        prefix = "\b" * previous_width + "\r" if self._dynamic else "\n"
        if self.target is not None:
            digits = int(np.log10(self.target)) + 1 if self.target > 0 else 1
            bar = f"{current:{digits}d}/{self.target} ["
            filled = int(self.width * current / self.target) if self.target else self.width
            if filled > 0:
                bar += "=" * (filled - 1) + (">" if current < self.target else "=")
            bar += "." * (self.width - filled) + "]"
        else:
            bar = f"{current:7d}/Unknown"
        per_step = self._step_duration(current, now)
        if self.target is None or finalize:
            info = f" - {now - self._start:.0f}s" + format_duration(per_step, self.unit_name)
        else:
            info = f" - ETA: {format_eta(per_step * (self.target - current))}"
        info += self._values_text()
        self._total_width = len(bar) + len(info)
        if previous_width > self._total_width:
            info += " " * (previous_width - self._total_width)
        if finalize:
            info += "\n"
        return prefix + bar + info

    def _summary_line(self, current, now):
        digits = int(np.log10(self.target)) + 1 if self.target else 1
        elapsed = now - self._start
        line = f"{current:{digits}d}/{self.target} - {elapsed:.0f}s" + self._values_text(signed=True)
        line += " -" + format_duration(elapsed, "epoch")
        line += " -" + format_duration(elapsed / max(1, self.target or 1), self.unit_name)
        return line + "\n"

    def _step_duration(self, current, now):
        """Time per step, leaving out the first step (compilation, warm-up) once there are more."""
        if not current:
            return 0.0
        if self._after_first_step is not None and current > 1:
            per_step = (now - self._after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._after_first_step = now
        return per_step

    def _write(self, text):
        out = self._out()
        out.write(text)
        out.flush()
