# SPDX-License-Identifier: MIT
"""kreplicas: are a partition's replicas the same below the high watermark?

Run with Debian's /usr/bin/python3. Reads each replica's partition
directory with `kdump-segment --json` (safe on a live broker: it takes no
lock) and compares the sequence of batches each holds, as Kafka's tests
compare replicas (their `crcSeq`): for every batch, its base offset, last
offset, partition leader epoch and CRC-32C. Below the high watermark every
replica must hold exactly the same sequence; what lies above it (a tail
not yet replicated, or one about to be truncated) is only counted.

  kreplicas.py [--kdump PATH] [--hw N | --hw-from FILE] NAME=DIR...

NAME labels the replica in the output (b1, b2, ...); DIR is its partition
directory (<data_dir>/<topic>-<partition>). The high watermark is --hw, or
the entry for the partition in FILE (the JSON lines of `logd ctl -j
topics`, best taken from the leader), or else the highest one in the
replicas' replication-offset-checkpoint files (after a clean stop).

Prints one line (wrapped here),
  TOPIC-P hw H replicas b1,b2,b3 batches N records R epochs E1,E2 identical
      above_hw b1:0,b2:0,b3:0
or, when they differ, what differs first on stderr and "... differ" on
stdout; exits 0 when identical, 1 when not, 2 on a usage error or when a
directory cannot be read.
"""
import argparse
import json
import os
import subprocess
import sys


def die(msg, status=2):
    print("kreplicas: " + msg, file=sys.stderr)
    sys.exit(status)


def split_partition_dir(path):
    """('events', 0) from '.../events-0'."""
    base = os.path.basename(os.path.normpath(path))
    topic, _, part = base.rpartition("-")
    if not topic or not part.isdigit():
        die("'%s' is not a partition directory (<topic>-<partition>)" % path)
    return topic, int(part)


def batches_of(kdump, path):
    """[(base, last, epoch, crc, count)] in file order, and problems."""
    proc = subprocess.run([kdump, "--json", path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 65):
        die("kdump-segment %s: exit %d: %s" % (path, proc.returncode,
                                               proc.stderr.decode().strip()))
    out, problems = [], []
    for line in proc.stdout.decode().splitlines():
        o = json.loads(line)
        if o.get("type") == "batch":
            out.append((o["base_offset"], o["last_offset"], o["leader_epoch"],
                        o["crc"], o["count"]))
        elif o.get("type") == "problem":
            problems.append("%s at %s: %s" % (o.get("file"), o.get("position"),
                                              o.get("message")))
    return out, problems


def hw_from_file(path, topic, part):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            if o.get("topic") == topic and o.get("partition") == part:
                return o["high_watermark"]
    die("%s has no high watermark for %s-%d" % (path, topic, part))


def hw_from_checkpoints(dirs, topic, part):
    best = None
    for d in dirs:
        ck = os.path.join(os.path.dirname(os.path.normpath(d)),
                          "replication-offset-checkpoint")
        try:
            lines = open(ck).read().split("\n")
        except OSError:
            continue
        for line in lines[2:]:
            f = line.split()
            if len(f) == 3 and f[0] == topic and int(f[1]) == part:
                best = int(f[2]) if best is None else max(best, int(f[2]))
    if best is None:
        die("no replication-offset-checkpoint holds %s-%d; give --hw"
            % (topic, part))
    return best


def fmt(b):
    return "base %d last %d epoch %d crc 0x%08x" % (b[0], b[1], b[2], b[3])


def main():
    ap = argparse.ArgumentParser(prog="kreplicas.py")
    ap.add_argument("--kdump", default="kdump-segment")
    ap.add_argument("--hw", type=int)
    ap.add_argument("--hw-from")
    ap.add_argument("replicas", nargs="+", metavar="NAME=DIR")
    a = ap.parse_args()

    names, dirs = [], []
    for r in a.replicas:
        name, sep, d = r.partition("=")
        if not sep:
            name, d = r, r
        names.append(name)
        dirs.append(d)
    topic, part = split_partition_dir(dirs[0])
    for d in dirs[1:]:
        if split_partition_dir(d) != (topic, part):
            die("replicas of different partitions: %s and %s" % (dirs[0], d))
    if a.hw is not None:
        hw = a.hw
    elif a.hw_from:
        hw = hw_from_file(a.hw_from, topic, part)
    else:
        hw = hw_from_checkpoints(dirs, topic, part)

    below, above, bad = {}, {}, 0
    for name, d in zip(names, dirs):
        if not os.path.isdir(d):
            die("%s: no directory %s" % (name, d))
        seq, problems = batches_of(a.kdump, d)
        for p in problems:
            print("kreplicas: %s: %s" % (name, p), file=sys.stderr)
            bad += 1
        below[name] = [b for b in seq if b[0] < hw]
        above[name] = sum(1 for b in seq if b[0] >= hw)
        # A replica must hold everything below the high watermark.
        end = below[name][-1][1] + 1 if below[name] else None
        if hw > 0 and (end is None or end < hw):
            print("kreplicas: %s-%d: %s ends at %s, below the high "
                  "watermark %d" % (topic, part, name, end, hw),
                  file=sys.stderr)
            bad += 1
        elif end is not None and end > hw:
            print("kreplicas: %s-%d: %s has a batch across the high watermark "
                  "%d: %s" % (topic, part, name, hw, fmt(below[name][-1])),
                  file=sys.stderr)
            bad += 1

    ref = names[0]
    for name in names[1:]:
        x, y = below[ref], below[name]
        for i in range(max(len(x), len(y))):
            bx = x[i] if i < len(x) else None
            by = y[i] if i < len(y) else None
            if bx is None or by is None or bx[:4] != by[:4]:
                print("kreplicas: %s-%d: %s and %s differ at batch %d: "
                      "%s: %s; %s: %s"
                      % (topic, part, ref, name, i, ref,
                         fmt(bx) if bx else "none", name,
                         fmt(by) if by else "none"), file=sys.stderr)
                bad += 1
                break

    seq = below[ref]
    epochs = sorted({b[2] for b in seq})
    print("%s-%d hw %d replicas %s batches %d records %d epochs %s %s "
          "above_hw %s"
          % (topic, part, hw, ",".join(names), len(seq),
             sum(b[4] for b in seq), ",".join(map(str, epochs)) or "-",
             "differ" if bad else "identical",
             ",".join("%s:%d" % (n, above[n]) for n in names)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
