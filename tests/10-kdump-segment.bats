#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# kdump-segment on logs written by the real log store (tests/tools/mklog):
# text and JSON dumps, records in the klog envelope, every codec, summary
# and count, lookups, and --verify on clean and hand-damaged copies (each
# problem named by file and byte position, exit 65).
bats_require_minimum_version 1.5.0
load helpers

LOG0=00000000000000000000

setup() {
	require_tool mklog
	KD=$BIN_DIR/kdump-segment
	cd "$BATS_TEST_TMPDIR" || return 1
}

# mk ARGS... DIR: write a partition directory through the log store.
mk() {
	run -0 "$TOOLS_DIR/mklog" "$@"
}

# batch_pos DIR N: byte position of batch N (from 0) of the first segment.
batch_pos() {
	"$KD" -j "$1/$LOG0.log" | python3 -c '
import json, sys
print([json.loads(l) for l in sys.stdin][int(sys.argv[1])]["position"])' "$2"
}

@test "text dump: one line per batch after the segment line" {
	mk -n 1000 -b 100 t-0
	run -0 --separate-stderr "$KD" t-0
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 11 ]
	[[ ${lines[0]} == "segment path=t-0/$LOG0.log size=$(file_size t-0/$LOG0.log) base_offset=0 topic=t partition=0" ]]
	[[ ${lines[1]} == "batch base_offset=0 last_offset=99 count=100 position=0 "* ]]
	[[ ${lines[1]} == *" magic=2 crc=0x"*" crc_valid=true compression=none timestamp_type=create base_timestamp=1700000000000 max_timestamp=1700000000099 producer_id=-1 producer_epoch=-1 base_sequence=-1 last_sequence=-1 leader_epoch="*" transactional=false control=false" ]]
	[[ ${lines[10]} == "batch base_offset=900 last_offset=999 count=100 "* ]]
}

@test "JSON batch lines: valid, complete and consistent with the file" {
	mk -n 1000 -b 100 t-0
	run -0 --separate-stderr "$KD" -j t-0
	[ -z "$stderr" ]
	printf '%s\n' "$output" >out.txt
	python3 - out.txt "$(file_size t-0/$LOG0.log)" <<'EOF'
import json, sys
size = int(sys.argv[2])
keys = {"type", "file", "topic", "partition", "base_offset", "last_offset",
        "count", "position", "size", "magic", "crc", "crc_valid",
        "compression", "timestamp_type", "base_timestamp", "max_timestamp",
        "producer_id", "producer_epoch", "base_sequence", "last_sequence",
        "leader_epoch", "transactional", "control"}
pos = off = 0
n = 0
for line in open(sys.argv[1]):
    b = json.loads(line)
    assert set(b) == keys, set(b) ^ keys
    assert b["type"] == "batch" and b["topic"] == "t" and b["partition"] == 0
    assert b["file"] == "t-0/00000000000000000000.log"
    assert b["position"] == pos and b["base_offset"] == off, b
    assert b["last_offset"] == off + 99 and b["count"] == 100
    assert b["magic"] == 2 and b["crc_valid"] is True
    assert 0 <= b["crc"] < 2**32
    assert b["compression"] == "none" and b["timestamp_type"] == "create"
    assert b["base_timestamp"] == 1700000000000 + off
    assert b["max_timestamp"] == 1700000000000 + off + 99
    assert b["transactional"] is False and b["control"] is False
    pos += b["size"]
    off += 100
    n += 1
assert n == 10 and pos == size, (n, pos, size)
EOF
}

@test "JSON records: the klog envelope with keys, values, headers, timestamps" {
	mk -n 50 -b 7 -k 5 -H -s 20 t-0
	run -0 --separate-stderr "$KD" -jR t-0
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 50 ]
	printf '%s\n' "$output" >out.txt
	python3 - out.txt <<'EOF'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    value = ("value-%d" % i).ljust(20, "x")
    want = {"topic": "t", "partition": 0, "offset": i,
            "timestamp": 1700000000000 + i, "timestamp_type": "create",
            "key": "key-%d" % (i % 5), "value": value,
            "headers": [{"key": "h1", "value": "a"},
                        {"key": "h2", "value": None}],
            "leader_epoch": r["leader_epoch"]}
    assert r == want, (r, want)
    assert list(r)[:3] == ["topic", "partition", "offset"]
EOF
}

@test "--records: batches with their records in text and JSON" {
	mk -n 20 -b 10 -k 3 t-0
	run -0 "$KD" -r t-0
	[ "${#lines[@]}" -eq 23 ]
	[[ ${lines[1]} == "batch base_offset=0 "* ]]
	[[ ${lines[2]} == '  record offset=0 timestamp=1700000000000 key="key-0" value="value-0'*'" headers=[]' ]]
	[[ ${lines[12]} == "batch base_offset=10 "* ]]
	run -0 "$KD" -jr t-0
	python3 -c '
import json, sys
kinds = [json.loads(l).get("type", "record") for l in sys.stdin]
assert kinds == (["batch"] + ["record"] * 10) * 2, kinds' <<<"$output"
}

@test "null keys are null in JSON and in text" {
	mk -n 5 -b 5 -k 0 t-0
	run -0 "$KD" -jR t-0
	python3 -c '
import json, sys
assert all(json.loads(l)["key"] is None for l in sys.stdin)' <<<"$output"
	run -0 "$KD" -R t-0
	[[ ${lines[0]} == "record offset=0 timestamp=1700000000000 key=null value="* ]]
}

@test "binary values: base64 in JSON, escaped in text, never raw" {
	mk -n 20 -b 5 -B -s 16 -H t-0
	run -0 "$KD" -jR t-0
	printf '%s\n' "$output" >out.txt
	python3 - out.txt <<'EOF'
import base64, json, sys
for i, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    v = bytearray(0x80 | ((i * 131 + j * 17) & 0x7f) for j in range(16))
    v[0] = 0xff
    assert r["value"] == {"base64": base64.b64encode(bytes(v)).decode()}, r
    assert r["headers"][0] == {"key": "h1", "value": "a"}
EOF
	"$KD" -r t-0 >text.out
	python3 - text.out <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")            # valid UTF-8 throughout
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0]
assert not bad, bad
assert '\\xff' in text
EOF
}

@test "every codec: batches name it, records decode the same" {
	mk -n 300 -b 50 -k 7 -H none-0
	"$KD" -jR none-0 | sed 's/"topic":"none"/"topic":"T"/' >none.json
	for z in gzip snappy lz4 zstd; do
		echo "# $z"
		mk -n 300 -b 50 -k 7 -H -z "$z" "$z-0"
		run -0 --separate-stderr "$KD" -C "$z-0"
		[ -z "$stderr" ]
		run -0 "$KD" -j "$z-0"
		python3 -c '
import json, sys
bs = [json.loads(l) for l in sys.stdin]
assert len(bs) == 6 and all(b["compression"] == sys.argv[1] for b in bs)' "$z" <<<"$output"
		"$KD" -jR "$z-0" | sed "s/\"topic\":\"$z\"/\"topic\":\"T\"/" >"$z.json"
		diff -u none.json "$z.json"
	done
}

@test "--decode hex and base64 show keys and values as asked" {
	mk -n 1 -b 1 -k 1 -s 7 t-0
	run -0 "$KD" -R -d hex t-0
	[ "${lines[0]}" = 'record offset=0 timestamp=1700000000000 key="6b65792d30" value="76616c75652d30" headers=[]' ]
	run -0 "$KD" -R -d base64 t-0
	[ "${lines[0]}" = 'record offset=0 timestamp=1700000000000 key="a2V5LTA=" value="dmFsdWUtMA==" headers=[]' ]
}

@test "--summary: batches, records, bytes, ratio, ranges (text and JSON)" {
	mk -n 1000 -b 100 -z lz4 -k 3 t-0
	run -0 --separate-stderr "$KD" -s t-0
	[ -z "$stderr" ]
	[[ $output == *$'\nbatches                    10\n'* ]]
	[[ $output == *$'\nrecords                    1000\n'* ]]
	[[ $output == *$'\nfirst_offset               0\n'* ]]
	[[ $output == *$'\nlast_offset                999\n'* ]]
	[[ $output == *$'\ncodecs                     lz4=10\n'* ]]
	run -0 "$KD" -js t-0
	[ "${#lines[@]}" -eq 1 ]
	printf '%s\n' "$output" >out.txt
	python3 - out.txt "$(file_size t-0/$LOG0.log)" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["type"] == "summary" and s["version"] == 1
assert s["files"] == 1 and s["partitions"] == 1 and s["segments"] == 1
assert s["batches"] == 10 and s["records"] == 1000
assert s["control_batches"] == 0 and s["control_records"] == 0
assert s["bytes"] == int(sys.argv[2])
assert s["stored_record_bytes"] == s["bytes"] - 10 * 61
assert s["uncompressed_record_bytes"] > s["stored_record_bytes"]
assert s["compression_ratio"] > 1
assert s["codecs"] == {"lz4": 10}
assert (s["first_offset"], s["last_offset"]) == (0, 999)
assert (s["min_timestamp"], s["max_timestamp"]) == (1700000000000, 1700000000999)
assert s["producers"] == 0 and s["problems"] == 0
assert len(s["partition_summaries"]) == 1
assert s["partition_summaries"][0]["topic"] == "t"
EOF
}

@test "--count is exact across segments, and fast on headers" {
	mk -n 5000 -b 10 --segment-bytes 20000 --index-interval 1000 t-0
	[ "$(ls t-0/*.log | wc -l)" -gt 3 ]
	run -0 --separate-stderr "$KD" -c t-0
	[ "$output" = 5000 ]
	[ -z "$stderr" ]
	run -0 "$KD" -jc t-0
	python3 -c '
import json, sys
c = json.loads(sys.stdin.read())
assert c["type"] == "count" and c["records"] == 5000 and c["batches"] == 500' <<<"$output"
	run -0 "$KD" t-0
	[ "$(grep -c '^segment ' <<<"$output")" -eq "$(ls t-0/*.log | wc -l)" ]
}

@test "--verify: clean logs exit 0 with no problem" {
	mk -n 1000 -b 100 t-0
	run -0 --separate-stderr "$KD" --verify t-0
	[ "$output" = "verify files=3 segments=1 batches=10 records=1000 index_entries=$(($(file_size t-0/$LOG0.index) / 8 + $(file_size t-0/$LOG0.timeindex) / 12)) problems=0" ]
	[ -z "$stderr" ]
	mk -n 3000 -b 10 -z zstd --segment-bytes 10000 --index-interval 500 m-0
	run -0 --separate-stderr "$KD" -C m-0
	[[ $output == *" problems=0" ]]
	[ -z "$stderr" ]
	run -0 "$KD" -q -C m-0 t-0
	[ -z "$output" ]
}

@test "--verify: a log left by a crash (preallocated indexes) is clean" {
	mk -n 100 -b 10 --index-interval 100 --unclean t-0
	run -0 --separate-stderr "$KD" -C t-0
	[[ $output == *" batches=10 records=100 "*" problems=0" ]]
	[ -z "$stderr" ]
}

@test "--verify: a byte flipped mid-log is a CRC error at its batch" {
	mk -n 1000 -b 100 t-0
	pos=$(batch_pos t-0 5)
	write_bytes t-0/$LOG0.log $((pos + 300)) ff
	run -65 --separate-stderr "$KD" -C t-0
	[ "${stderr_lines[0]}" = "t-0/$LOG0.log: position $pos: batch at offset 500: crc mismatch: stored ${stderr_lines[0]##*stored }" ]
	[[ ${stderr_lines[0]} == *"crc mismatch: stored 0x"*", computed 0x"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $output == *" problems=1" ]]
	# A plain dump still prints every batch, reports it and exits 65.
	run -65 --separate-stderr "$KD" t-0
	[ "$(grep -c '^batch ' <<<"$output")" -eq 10 ]
	[ "$(grep -c 'crc_valid=false' <<<"$output")" -eq 1 ]
	[[ $stderr == "t-0/$LOG0.log: position $pos: batch at offset 500: crc mismatch"* ]]
}

@test "--verify: a damaged batch length is skipped to the next batch" {
	mk -n 1000 -b 100 t-0
	pos=$(batch_pos t-0 3)
	next=$(batch_pos t-0 4)
	write_bytes t-0/$LOG0.log $((pos + 8)) 7f
	run -65 --separate-stderr "$KD" -C t-0
	[[ ${stderr_lines[0]} == "t-0/$LOG0.log: position $pos: batch length "*" runs past the end of the file: skipped $((next - pos)) bytes of garbage to the next batch at position $next" ]]
	[[ $output == *" batches=9 records=900 "* ]]
}

@test "--verify: a truncated last batch is incomplete" {
	mk -n 1000 -b 100 t-0
	pos=$(batch_pos t-0 9)
	size=$(file_size t-0/$LOG0.log)
	truncate -s $((size - 10)) t-0/$LOG0.log
	run -65 --separate-stderr "$KD" -C t-0
	[[ ${stderr_lines[0]} == "t-0/$LOG0.log: position $pos: incomplete batch at the end of the file: $((size - pos - 10)) of $((size - pos)) bytes present" ]]
	# The dump shows the nine complete batches.
	run -65 "$KD" t-0
	[ "$(grep -c '^batch ' <<<"$output")" -eq 9 ]
	[[ $output == *"incomplete batch"* ]]
}

@test "--verify: garbage after the last batch" {
	mk -n 100 -b 10 t-0
	size=$(file_size t-0/$LOG0.log)
	printf 'x%.0s' {1..100} >>t-0/$LOG0.log
	run -65 --separate-stderr "$KD" -C t-0
	[ "${stderr_lines[0]}" = "t-0/$LOG0.log: position $size: invalid batch header (magic 120, length 2021161080): 100 bytes of garbage at the end of the file" ]
	printf 'short' >>t-0/$LOG0.log
	truncate -s $((size + 5)) t-0/$LOG0.log
	run -65 --separate-stderr "$KD" -C t-0
	[ "${stderr_lines[0]}" = "t-0/$LOG0.log: position $size: incomplete batch header: 5 bytes at the end of the file" ]
	truncate -s $((size + 4096)) t-0/$LOG0.log
	write_bytes t-0/$LOG0.log "$size" 0000000000
	run -65 --separate-stderr "$KD" -C t-0
	[[ ${stderr_lines[0]} == *"position $size: 4096 zero bytes at the end of the file"* ]]
}

@test "--verify: a garbage .index entry is named by file and position" {
	mk -n 1000 -b 100 t-0
	[ "$(file_size t-0/$LOG0.index)" -ge 16 ]
	write_bytes t-0/$LOG0.index 8 ffffffffffffffff
	run -65 --separate-stderr "$KD" -C t-0
	[[ $stderr == *"t-0/$LOG0.index: position 8: entry for offset 4294967295 points to position 4294967295, past the end of the log"* ]]
	# Dumping the index alone shows the entry and the order problem.
	run -65 --separate-stderr "$KD" t-0/$LOG0.index
	[[ ${lines[2]} == "entry position=8 offset=4294967295 "* ]]
	[[ $stderr == *"t-0/$LOG0.index: position 16: entry offset "*" is not above the previous entry's offset 4294967295"* ]]
}

@test "--verify: an index entry off a batch boundary or offset" {
	mk -n 1000 -b 100 t-0
	# entry 0 -> position 1 (inside batch 0); entry 1 -> wrong offset
	write_bytes t-0/$LOG0.index 4 00000001
	off=$(od -An -tu1 -j8 -N4 t-0/$LOG0.index | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	write_bytes t-0/$LOG0.index 8 "$(printf %08x $((off - 1)))"
	run -65 --separate-stderr "$KD" -C t-0
	[[ $stderr == *"t-0/$LOG0.index: position 0: entry for offset "*" points to position 1, which is not the start of a batch"* ]]
	[[ $stderr == *"t-0/$LOG0.index: position 8: entry offset $((off - 1)) does not match the batch at position "*" (last offset $off)"* ]]
}

@test "--verify: a time index going backwards" {
	mk -n 1000 -b 100 t-0
	[ "$(file_size t-0/$LOG0.timeindex)" -ge 24 ]
	write_bytes t-0/$LOG0.timeindex 12 0000000000000001
	run -65 --separate-stderr "$KD" -C t-0
	[[ $stderr == *"t-0/$LOG0.timeindex: position 12: entry timestamp 1 is below the previous entry's timestamp"* ]]
}

@test "--verify: a missing .index or .timeindex is fine" {
	mk -n 1000 -b 100 t-0
	rm t-0/$LOG0.index
	run -0 --separate-stderr "$KD" -C t-0
	[[ $output == "verify files=2 "*" problems=0" ]]
	rm t-0/$LOG0.timeindex
	run -0 "$KD" -C t-0/$LOG0.log
	run -0 "$KD" -L 555 t-0
	[[ $output == *" found=true "*" index_entry=none "* ]]
}

@test "--verify --json: problems are JSON lines on stdout" {
	mk -n 1000 -b 100 t-0
	pos=$(batch_pos t-0 2)
	write_bytes t-0/$LOG0.log $((pos + 100)) 00
	run -65 --separate-stderr "$KD" -j --verify t-0
	[ -z "$stderr" ]
	printf '%s\n' "$output" >out.txt
	python3 - out.txt "$pos" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
p = lines[0]
assert p["type"] == "problem" and p["file"] == "t-0/00000000000000000000.log"
assert p["position"] == int(sys.argv[2]) and "crc mismatch" in p["message"]
v = lines[-1]
assert v["type"] == "verify" and v["ok"] is False and v["problems"] == 1
EOF
}

@test "empty files and directories are clean" {
	mkdir e-0 empty
	: >e-0/$LOG0.log
	: >e-0/$LOG0.index
	run -0 --separate-stderr "$KD" e-0
	[ "$output" = "segment path=e-0/$LOG0.log size=0 base_offset=0 topic=e partition=0" ]
	run -0 "$KD" -C e-0
	[[ $output == "verify files=2 segments=1 batches=0 records=0 index_entries=0 problems=0" ]]
	run -0 "$KD" -c e-0
	[ "$output" = 0 ]
	run -0 "$KD" -s e-0
	[[ $output == *$'\nfirst_offset               -\n'* ]]
	run -0 --separate-stderr "$KD" empty
	[ -z "$output" ]
	[[ $stderr == *"no segments or partitions in 'empty'"* ]]
}

@test "a data directory: every partition in order, checkpoints checked" {
	mkdir data
	mk -n 10 -b 5 -k 2 data/b-0
	mk -n 10 -b 5 -k 2 data/a-1
	mk -n 10 -b 5 -k 2 data/a-0
	mk -n 10 -b 5 -k 2 data/a-10
	printf '0\n2\na 0 10\nb 0 10\n' >data/recovery-point-offset-checkpoint
	run -0 "$KD" -j data
	python3 -c '
import json, sys
seen = [(b["topic"], b["partition"]) for b in map(json.loads, sys.stdin)]
assert seen == [("a", 0)] * 2 + [("a", 1)] * 2 + [("a", 10)] * 2 + [("b", 0)] * 2, seen' <<<"$output"
	run -0 "$KD" -js data
	python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
assert s["partitions"] == 4 and s["records"] == 40' <<<"$output"
	run -0 --separate-stderr "$KD" -C data
	[[ $output == "verify files=13 segments=4 "*" problems=0" ]]
	printf '0\n3\na 0 10\nb zero 10\n' >data/recovery-point-offset-checkpoint
	run -65 --separate-stderr "$KD" -C data
	[[ $stderr == *"data/recovery-point-offset-checkpoint: position 11: line 4: expected 'topic partition offset'"* ]]
	[[ $stderr == *"data/recovery-point-offset-checkpoint: position 21: 1 entries, 3 announced"* ]]
}

@test "checkpoint files are dumped as entries" {
	printf '0\n2\norders 0 1500\norders 1 1432\n' >replication-offset-checkpoint
	run -0 "$KD" replication-offset-checkpoint
	[ "${lines[1]}" = "entry topic=orders partition=0 offset=1500" ]
	[ "${lines[2]}" = "entry topic=orders partition=1 offset=1432" ]
	run -0 "$KD" -j replication-offset-checkpoint
	[ "${lines[1]}" = '{"type":"checkpoint_entry","file":"replication-offset-checkpoint","topic":"orders","partition":1,"offset":1432}' ]
}

@test "a missing path exits 66; the other paths are still dumped" {
	mk -n 10 -b 5 t-0
	run -66 --separate-stderr "$KD" nope
	[ -z "$output" ]
	[ "$stderr" = "kdump-segment: warning: unable to open 'nope': No such file or directory" ]
	run -66 --separate-stderr "$KD" -c t-0 nope
	[ "$output" = 10 ]
}

@test "bad flags and arguments exit 64 with one line and the usage" {
	mk -n 10 -b 5 t-0
	for args in "--bogus t-0" "-x t-0" "-L abc t-0" "-L -1 t-0" "-d rot13 t-0" \
	    "-s -c t-0" "-C -r t-0" "-s -o 5 t-0" "-o 1 -p 0 t-0/$LOG0.log" \
	    "-p 0 t-0" "-m 0 t-0" "-M 1 t-0" "-T yesterday t-0" "--rec t-0" \
	    "--json=yes t-0" ""; do
		echo "# $args"
		run -64 --separate-stderr "$KD" $args
		[ -z "$output" ]
		[[ ${stderr_lines[0]} == "kdump-segment: "* ]]
		[[ ${stderr_lines[1]} == "usage: kdump-segment "* ]]
	done
}

@test "--lookup-offset: segment, batch and position, through the index" {
	mk -n 1000 -b 100 t-0
	pos=$(batch_pos t-0 5)
	run -0 --separate-stderr "$KD" -L 555 t-0
	[[ $output == "lookup offset=555 found=true topic=t partition=0 file=t-0/$LOG0.log position=$pos size="*" base_offset=500 last_offset=599 max_timestamp=1700000000599 index_entry="[0-9]*" read_from="[0-9]* ]]
	[[ $output != *"read_from=0" ]]
	run -0 "$KD" -j --lookup-offset 0 t-0
	python3 -c '
import json, sys
h = json.loads(sys.stdin.read())
assert h["type"] == "lookup" and h["found"] is True and h["position"] == 0
assert (h["base_offset"], h["last_offset"]) == (0, 99)' <<<"$output"
	run -1 --separate-stderr "$KD" -L 1000 t-0
	[ "$output" = "lookup offset=1000 found=false topic=t partition=0" ]
	[ -z "$stderr" ]
}

@test "--lookup-offset picks the right segment" {
	mk -n 3000 -b 10 --segment-bytes 8000 --index-interval 500 t-0
	run -0 "$KD" -j -L 2345 t-0
	printf '%s\n' "$output" >out.txt
	python3 - out.txt t-0 <<'EOF'
import json, os, sys
h = json.load(open(sys.argv[1]))
bases = sorted(int(f[:20]) for f in os.listdir(sys.argv[2]) if f.endswith(".log"))
want = max(b for b in bases if b <= 2345)
assert h["file"] == "%s/%020d.log" % (sys.argv[2], want), (h, want)
assert h["base_offset"] <= 2345 <= h["last_offset"]
EOF
}

@test "--lookup-timestamp: first record at or after a time" {
	mk -n 1000 -b 100 -T 10 t-0
	run -0 "$KD" -T 1700000005555 t-0
	[[ $output == "lookup timestamp=1700000005555 found=true topic=t partition=0 record_offset=556 record_timestamp=1700000005560 "*" base_offset=500 last_offset=599 "* ]]
	run -0 "$KD" -T 2023-11-14T22:13:25.550Z t-0
	[[ $output == *" record_offset=555 record_timestamp=1700000005550 "* ]]
	run -0 "$KD" -T 2023-11-14T23:13:25.550+01:00 t-0
	[[ $output == *" record_offset=555 "* ]]
	run -0 "$KD" -T 0 t-0
	[[ $output == *" record_offset=0 "* ]]
	run -1 "$KD" -T 1700000009991 t-0
	[ "$output" = "lookup timestamp=1700000009991 found=false topic=t partition=0" ]
}

@test "--offset and --position choose where the dump starts" {
	mk -n 1000 -b 100 t-0
	run -0 "$KD" -R -o 555 -m 1 t-0
	[[ ${lines[0]} == "record offset=555 "* ]]
	[ "${#lines[@]}" -eq 1 ]
	run -0 "$KD" -o 555 t-0
	[[ ${lines[1]} == "batch base_offset=500 "* ]]
	[ "${#lines[@]}" -eq 6 ]
	run -0 "$KD" -p "$(batch_pos t-0 2)" t-0/$LOG0.log
	[[ ${lines[1]} == "batch base_offset=200 "* ]]
	[ "${#lines[@]}" -eq 9 ]
}

@test "--max-records stops after N records" {
	mk -n 1000 -b 100 t-0
	run -0 "$KD" -R -m 7 t-0
	[ "${#lines[@]}" -eq 7 ]
	[[ ${lines[6]} == "record offset=6 "* ]]
	run -0 "$KD" -m 150 t-0
	[ "$(grep -c '^batch ' <<<"$output")" -eq 2 ]
}

@test "-M bounds batch size and decompression" {
	mk -n 100 -b 100 -s 1000 -z zstd t-0
	run -65 --separate-stderr "$KD" -M 100 t-0
	[[ $stderr == "t-0/$LOG0.log: position 0: batch of "*" bytes exceeds the limit of 100 (see -M); skipped" ]]
	run -65 --separate-stderr "$KD" -r -M 16k t-0
	[[ $stderr == "t-0/$LOG0.log: position 0: batch at offset 0: "* ]]
	run -0 "$KD" -r -M 1m t-0
}

@test "EPIPE: a closed pipe ends the dump quietly with status 0" {
	mk -n 20000 -b 10 -s 200 t-0
	run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -r t-0 | head -1 >/dev/null' _ "$KD"
	[ -z "$stderr" ]
	run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -jr t-0 | head -c 10 >/dev/null' _ "$KD"
	[ -z "$stderr" ]
}

@test "a full disk on stdout exits 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	mk -n 1000 -b 100 t-0
	run -74 --separate-stderr bash -c '"$1" -r t-0 >/dev/full' _ "$KD"
	[[ $stderr == *"unable to write to standard output: No space left on device"* ]]
}

@test "index dumps: every entry points at a batch ending at its offset" {
	mk -n 2000 -b 20 --index-interval 2000 t-0
	"$KD" -j t-0 >batches.json
	"$KD" -j t-0/$LOG0.index >index.json
	"$KD" -j t-0/$LOG0.timeindex >time.json
	python3 - <<'EOF'
import json
batches = {b["position"]: b for b in map(json.loads, open("batches.json"))}
idx = [json.loads(l) for l in open("index.json")]
tim = [json.loads(l) for l in open("time.json")]
assert len(idx) > 5 and len(tim) > 5
for e in idx:
    assert e["type"] == "index_entry"
    assert batches[e["log_position"]]["last_offset"] == e["offset"], e
for e in tim:
    assert e["type"] == "time_index_entry"
    assert any(b["last_offset"] == e["offset"] and b["max_timestamp"] == e["timestamp"]
               for b in batches.values()), e
EOF
	run -0 "$KD" t-0/$LOG0.timeindex
	[[ ${lines[0]} == "timeindex path=t-0/$LOG0.timeindex size="* ]]
	[[ ${lines[1]} == "entry position=0 timestamp=17000000"*" offset="*" relative_offset="* ]]
}

@test "golden: text dump with records of a small log" {
	mk -n 6 -b 3 -k 2 -H -s 12 small-0
	run -0 "$KD" -r small-0
	diff -u "$FIXTURES/expected/kdump-small.txt" - <<<"$output"
}

# craft_log DIR: a hand-made segment with what mklog cannot write: a
# transactional batch whose records need escaping, a commit marker (control
# batch) and a LogAppendTime batch.
craft_log() {
	mkdir -p "$1"
	python3 - "$1/$LOG0.log" <<'EOF'
import struct, sys

def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff

def varint(n):
    n = ((n << 1) ^ (n >> 63)) & 0xffffffffffffffff
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)

def field(b):
    return varint(-1) if b is None else varint(len(b)) + b

def record(delta, key, value, headers=()):
    body = (b"\0" + varint(0) + varint(delta) + field(key) + field(value) +
            varint(len(headers)) + b"".join(field(k) + field(v) for k, v in headers))
    return varint(len(body)) + body

def batch(base, recs, attrs=0, ts=1700000000000, max_ts=1700000000000,
          pid=-1, epoch=-1, seq=-1):
    tail = struct.pack(">hiqqqhii", attrs, len(recs) - 1, ts, max_ts, pid,
                       epoch, seq, len(recs)) + b"".join(recs)
    return struct.pack(">qiibI", base, len(tail) + 9, 7, 2, crc32c(tail)) + tail

log = batch(0, [record(0, b"k\n1", b"tab\there", [(b"h", b"1"), (b"h", b"2"), (b"my key", None)]),
                record(1, None, "bidi\u202eevil".encode()),
                record(2, "\u00e9".encode(), b"\x00\x01")],
            attrs=0x10, pid=42, epoch=1, seq=0)
log += batch(3, [record(0, struct.pack(">hh", 0, 1), struct.pack(">hi", 0, 5))],
             attrs=0x30, pid=42, epoch=1)
log += batch(4, [record(0, b"late", b"v")], attrs=0x08, max_ts=1800000000000)
open(sys.argv[1], "wb").write(log)
EOF
}

@test "text output escapes what a terminal should not see raw" {
	craft_log x-0
	run -0 --separate-stderr "$KD" -r x-0
	[ -z "$stderr" ]
	[[ ${lines[1]} == "batch base_offset=0 last_offset=2 count=3 "*" producer_id=42 producer_epoch=1 base_sequence=0 last_sequence=2 leader_epoch=7 transactional=true control=false" ]]
	[ "${lines[2]}" = '  record offset=0 timestamp=1700000000000 key="k\n1" value="tab\there" headers=[h="1" h="2" "my key"=null]' ]
	[ "${lines[3]}" = '  record offset=1 timestamp=1700000000000 key=null value="bidi\xe2\x80\xaeevil" headers=[]' ]
	[ "${lines[4]}" = $'  record offset=2 timestamp=1700000000000 key="\u00e9" value="\\x00\\x01" headers=[]' ]
	[[ ${lines[5]} == "batch base_offset=3 last_offset=3 count=1 "*" transactional=true control=true" ]]
	[[ ${lines[6]} == "  record offset=3 "*" control=commit" ]]
	[[ ${lines[7]} == "batch base_offset=4 "*" timestamp_type=log_append base_timestamp=1700000000000 max_timestamp=1800000000000 "* ]]
	[ "${lines[8]}" = '  record offset=4 timestamp=1800000000000 key="late" value="v" headers=[]' ]
}

@test "JSON records: exact bytes back, control records left out" {
	craft_log x-0
	run -0 "$KD" -jR x-0
	printf '%s\n' "$output" >out.txt
	python3 - out.txt <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["offset"] for r in rs] == [0, 1, 2, 4], rs
assert rs[0]["key"] == "k\n1" and rs[0]["value"] == "tab\there"
assert rs[0]["headers"] == [{"key": "h", "value": "1"}, {"key": "h", "value": "2"},
                            {"key": "my key", "value": None}]
assert rs[1]["key"] is None and rs[1]["value"] == "bidi\u202eevil"
assert rs[2]["key"] == "\u00e9" and rs[2]["value"] == "\x00\x01"
assert rs[3]["timestamp_type"] == "log_append" and rs[3]["timestamp"] == 1800000000000
assert all(r["leader_epoch"] == 7 and r["topic"] == "x" for r in rs)
EOF
	run -0 "$KD" -c x-0
	[ "$output" = 4 ]
	run -0 "$KD" -js x-0
	python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
assert (s["records"], s["control_batches"], s["control_records"]) == (4, 1, 1), s
assert s["transactional_batches"] == 2 and s["producers"] == 1
assert (s["min_timestamp"], s["max_timestamp"]) == (1700000000000, 1800000000000)' <<<"$output"
	run -0 "$KD" -C x-0
}
