#!/usr/bin/env bash
# Bad input on every input path (issue 12; the table is in tests/README.md): exit code 2 and one
# line naming the file, the line or key, and what was expected.
source "$(dirname "$0")/lib.sh"
P=$ROOT/workloads/examples/mlp2.s
nonutf8() { printf 'name: caf\xe9\n' > "$1"; }
huge() { truncate -s "$2" "$1"; }  # sparse: the size check must come before any read

# ---- arch YAML (run --arch) ----
A() { expect2 "arch:$1" "$2" -- "$T" run --arch "$3" --program "$P" --mode functional; }
a=$tmp/arch.yaml
echo "bogus: [" > $a;                                  A syntax 'arch.yaml:[0-9]+:[0-9]+: YAML syntax' $a
printf 'base: tiny-4\nclock_mhz: fast\n' > $a;         A wrong-type "arch.yaml: key 'clock_mhz': expected an integer" $a
grep -v clock_mhz "$ROOT/workloads/archs/tiny-4.yaml" > $a; A missing-key "arch.yaml: key 'clock_mhz': missing" $a
printf 'base: tiny-4\nclock_mhzz: 700\n' > $a;         A unknown-key "arch.yaml: unknown key 'clock_mhzz'" $a
printf 'base: tiny-4\nclock_mhz: -700\n' > $a;         A negative "arch.yaml: key 'clock_mhz': expected an integer" $a
printf 'base: tiny-4\narray: {rows: 0}\n' > $a;        A zero "arch.yaml: key 'array.rows': 0 is out of range" $a
printf 'base: tiny-4\nunified_buffer_bytes: 99999999999999999999999\n' > $a
A overflow "arch.yaml: key 'unified_buffer_bytes': expected an integer" $a
printf 'base: tiny-4\nweight_memory: {bytes: 0x7fffffffffffffff}\n' > $a
A absurd-size "arch.yaml: key 'weight_memory.bytes': [0-9]+ is out of range" $a
printf 'base: tiny-4\narray: {rows: 1000000, cols: 1000000}\n' > $a
A absurd-product "arch.yaml: key 'array.rows': [0-9]+ is out of range" $a
printf 'base: tiny-4\nclock_mhz: [1, 2]\n' > $a;       A list-for-scalar "key 'clock_mhz': expected an integer.*a list" $a
nonutf8 $a;                                            A non-utf8 'arch.yaml: not UTF-8' $a
: > $a;                                                A empty 'arch.yaml: empty file' $a
huge $a 17M;                                           A huge 'arch.yaml: file is [0-9]+ bytes, more than' $a
printf 'base: b.yaml\nname: a\n' > $tmp/a.yaml; printf 'base: a.yaml\nname: b\n' > $tmp/b.yaml
A base-cycle "key 'base': cycle in base chain" $tmp/a.yaml
printf 'base: self.yaml\n' > $tmp/self.yaml;          A base-self-cycle "key 'base': cycle in base chain" $tmp/self.yaml
mkfifo $tmp/fifo.yaml;                                 A fifo 'fifo.yaml: not a regular file' $tmp/fifo.yaml
mkdir $tmp/dir.yaml;                                   A folder 'dir.yaml: not a regular file' $tmp/dir.yaml
printf 'base: %s\n' /dev/zero > $a;                    A base-device '/dev/zero: not a regular file' $a

# ---- workload YAML (run --workload, lower) ----
W() { expect2 "workload:$1" "$2" -- "$T" run --arch tiny-8 --workload "$3" --timing-only --quiet; }
w=$tmp/wl.yaml
hdr='name: t\npaper: p\ninput: {features: 16}\n'
echo "layers: [" > $w;                                 W syntax 'wl.yaml:.*YAML syntax' $w
printf "${hdr}batch: many\nlayers: [{type: fc, out: 8}]\n" > $w;   W wrong-type "wl.yaml: key 'batch': expected an integer" $w
printf 'paper: p\nlayers: [{type: fc, out: 8}]\n' > $w;             W missing-key "wl.yaml: key 'name': missing" $w
printf "${hdr}colour: red\nlayers: [{type: fc, out: 8}]\n" > $w;   W unknown-key "wl.yaml: unknown key 'colour'" $w
printf "${hdr}layers: [{type: fc, out: 8, bias: true}]\n" > $w;    W unknown-layer-key "wl.yaml: unknown key '.*bias'" $w
printf "${hdr}layers: [{type: fc, out: -8}]\n" > $w;               W negative "wl.yaml: key '.*out': expected an integer" $w
printf "${hdr}layers: [{type: fc, out: 0}]\n" > $w;                W zero "wl.yaml: key '.*out': 0 is out of range" $w
printf "${hdr}batch: 0\nlayers: [{type: fc, out: 8}]\n" > $w;      W zero-batch "wl.yaml: key 'batch': 0 is out of range" $w
printf "${hdr}layers: [{type: fc, out: 99999999999999999999999}]\n" > $w; W overflow "wl.yaml: key '.*out': expected an integer" $w
printf 'name: t\npaper: p\nbatch: 1048576\ninput: {features: 4294967295}\nlayers: [{type: fc, out: 4294967295}, {type: fc, out: 4294967295}]\n' > $w
W absurd-product 'wl.yaml: .*(overflow|too large|more than|exceeds)' $w
printf 'name: t\npaper: p\ntransformer: {layers: 1024, d_model: 1048576, heads: 4096, d_ff: 4194304, vocab: 16777216}\nbatch: 1048576\nprompt_len: 1048576\ncontext_len: 16777216\n' > $w
W absurd-transformer 'wl.yaml: .*(overflow|too large|more than|exceeds)' $w
printf "${hdr}layers: []\n" > $w;                                   W empty-list "wl.yaml: key 'layers': expected a non-empty list" $w
nonutf8 $w;                                                         W non-utf8 'wl.yaml: not UTF-8' $w
: > $w;                                                             W empty 'wl.yaml: empty file' $w
huge $w 17M;                                                        W huge 'wl.yaml: file is [0-9]+ bytes, more than' $w
W fifo 'fifo.yaml: not a regular file' $tmp/fifo.yaml
expect2 workload:lower-unknown-key "wl2.yaml: unknown key 'colour'" -- bash -c \
  "printf '${hdr}colour: red\nlayers: [{type: fc, out: 8}]\n' > $tmp/wl2.yaml; \"$T\" lower --arch tiny-8 --workload $tmp/wl2.yaml"

# ---- sweep spec (sweep SPEC --out DIR) ----
S() { expect2 "sweep:$1" "$2" -- "$T" sweep "$3" --out "$tmp/sw_$1" --quiet --no-progress; }
s=$tmp/sweep.yaml
sw='name: s\nbase: tiny-8\nworkloads: [mlp0]\n'
echo "axes: [" > $s;                                                S syntax 'sweep.yaml:.*YAML syntax' $s
printf "${sw}axes: [{key: clock_mhz, values: fast}]\n" > $s;        S wrong-type "sweep.yaml: key '.*values'" $s
printf 'base: tiny-8\nworkloads: [mlp0]\naxes: [{key: clock_mhz, values: [700]}]\n' > $s; S missing-key "sweep.yaml: key 'name': missing" $s
printf "${sw}colour: red\naxes: [{key: clock_mhz, values: [700]}]\n" > $s; S unknown-key "sweep.yaml: unknown key 'colour'" $s
printf "${sw}axes: [{key: clock_mhz, values: [-700]}]\n" > $s;      S negative "sweep.yaml: .*clock_mhz" $s
printf "${sw}axes: [{key: clock_mhz, values: []}]\n" > $s;          S zero-values "sweep.yaml: key '.*values'" $s
printf "${sw}axes: [{key: clock_mhz, range: {from: 1, to: 99999999999999999999999, step: 1}}]\n" > $s
S overflow "sweep.yaml: key '.*(to|range)'" $s
printf "${sw}axes: [{key: clock_mhz, range: {from: 1, to: 1000000, step: 1}}, {key: batch, range: {from: 1, to: 1000000, step: 1}}]\n" > $s
S absurd-points 'sweep.yaml: .*points, more than the 1000000 allowed' $s
nonutf8 $s;                                                         S non-utf8 'sweep.yaml: not UTF-8' $s
: > $s;                                                             S empty 'sweep.yaml: empty file' $s
huge $s 17M;                                                        S huge 'sweep.yaml: file is [0-9]+ bytes, more than' $s

# ---- SCALE-Sim topology CSV (import-scalesim) ----
C() { expect2 "scalesim:$1" "$2" -- "$T" import-scalesim "$3"; }
c=$tmp/topo.csv
H='Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n'
printf 'a,b,c\n1,2,3\n' > $c;                          C no-header 'topo.csv:1: expected the SCALE-Sim header' $c
printf "${H}c1, 8, 8, 3, 3, 4\n" > $c;                 C missing-column 'topo.csv:2: expected 8 columns' $c
printf "${H}c1, 8, eight, 3, 3, 4, 8, 1,\n" > $c;      C wrong-type "topo.csv:2: column 3: 'eight' is not an integer" $c
printf "${H}c1, 8, 8, -3, 3, 4, 8, 1,\n" > $c;         C negative "topo.csv:2: column 4: '-3' is not an integer" $c
printf "${H}c1, 8, 8, 3, 3, 0, 8, 1,\n" > $c;          C zero "topo.csv:2: column 6: '0' is not an integer" $c
printf "${H}c1, 99999999999999999999999, 8, 3, 3, 4, 8, 1,\n" > $c; C overflow 'topo.csv:2: column 2' $c
printf "${H}c1, 1048576, 1048576, 3, 3, 1048576, 8, 1,\n" > $c;     C absurd-product 'topo.csv:2: .*(too large|more than|exceeds)' $c
printf "${H}c1, 8, 8, 9, 3, 4, 8, 1,\n" > $c;          C filter-larger 'topo.csv:2: filter 9x3 larger' $c
printf "${H}" > $c;                                    C no-layers 'topo.csv: no layers' $c
printf "${H}caf\xe9, 8, 8, 3, 3, 4, 8, 1,\n" > $c;     C non-utf8 'topo.csv: not UTF-8' $c
: > $c;                                                C empty 'topo.csv: empty file' $c
huge $c 17M;                                           C huge 'topo.csv: file is [0-9]+ bytes, more than' $c

# ---- assembly text (run --program X.s, asm) ----
M() { expect2 "asm:$1" "$2" -- "$T" run --arch tiny-4 --program "$3" --mode functional --quiet; }
m=$tmp/prog.s
printf 'nop\nfrobnicate\n' > $m;                       M unknown-instruction "prog.s:2: unknown instruction 'frobnicate'" $m
printf 'rhm host=abc ub=0 n=1\nhalt\n' > $m;           M wrong-type 'prog.s:1: .*host' $m
printf 'rhm ub=0 n=1\nhalt\n' > $m;                    M missing-operand 'prog.s:1: .*host' $m
printf 'rhm host=0 ub=0 n=1 colour=3\nhalt\n' > $m;    M unknown-operand 'prog.s:1: .*colour' $m
printf 'rhm host=-1 ub=0 n=1\nhalt\n' > $m;            M negative 'prog.s:1: .*host' $m
printf 'rhm host=0 ub=0 n=0\nhalt\n' > $m;             M zero 'prog.s:1: .*n' $m
printf 'rhm host=99999999999999999999999 ub=0 n=1\nhalt\n' > $m; M overflow 'prog.s:1: .*host' $m
printf '.random host 0 18446744073709551615 1\nhalt\n' > $m;     M absurd-size 'prog.s:1: ' $m
printf 'nop # caf\xe9\nhalt\n' > $m;                  M non-ascii 'prog.s: byte 0xe9 at offset [0-9]+ is not printable ASCII' $m
: > $m;                                                M empty 'prog.s: empty file' $m
huge $m 300M;                                          M huge 'prog.s: file is [0-9]+ bytes, more than' $m
expect2 asm:asm-cmd "prog2.s:1: unknown instruction" -- bash -c "echo bogus > $tmp/prog2.s; \"$T\" asm $tmp/prog2.s -o $tmp/prog2.bin"

# ---- binary program (disasm X.bin, run --program X.bin) ----
B() { expect2 "bin:$1" "$2" -- "$T" disasm "$3"; }
b=$tmp/prog.bin
"$T" asm "$P" -o "$tmp/good.bin" >/dev/null 2>&1
head -c 17 "$tmp/good.bin" > $b;                       B truncated 'prog.bin: size 17 bytes is not a multiple' $b
head -c 32 /dev/zero | tr '\0' '\377' > $b;            B bad-opcode 'prog.bin: instruction 0' $b
: > $b;                                                B empty 'prog.bin: empty file' $b
huge $b 300M;                                          B huge 'prog.bin: file is [0-9]+ bytes, more than' $b
B folder 'dir.yaml: not a regular file' $tmp/dir.yaml
expect2 bin:run-truncated 'short.bin: size 17 bytes' -- bash -c "head -c 17 $tmp/good.bin > $tmp/short.bin; \"$T\" run --arch tiny-4 --program $tmp/short.bin --mode functional"

# ---- serve trace CSV (serve --trace X.csv) ----
V() { expect2 "serve:$1" "$2" -- "$T" serve --arch tpu-llm --model opt-13b --trace "$3" --quiet; }
v=$tmp/trace.csv
printf 'when,prompt,out\n0,1,1\n' > $v;                V bad-header 'trace.csv:1:[0-9]+: .*header' $v
printf '0,abc,5\n' > $v;                               V wrong-type "trace.csv:1:[0-9]+: prompt_len 'abc': expected an integer" $v
printf '0,10\n' > $v;                                  V missing-column 'trace.csv:1:1: 2 fields' $v
printf '0,10,5,1,9\n' > $v;                            V extra-column 'trace.csv:1:1: 5 fields' $v
printf -- '-1,10,5\n' > $v;                            V negative 'trace.csv:1:1: ' $v
printf '0,0,5\n' > $v;                                 V zero "trace.csv:1:[0-9]+: prompt_len '0': expected an integer" $v
printf '0,99999999999999999999999,5\n' > $v;           V overflow 'trace.csv:1:[0-9]+: prompt_len .*expected an integer' $v
printf '0,1000000,1000000\n' > $v;                     V absurd-length "trace.csv:1:[0-9]+: prompt_len '1000000': expected an integer in 1.." $v
printf '1,10,5\n0,10,5\n' > $v;                        V decreasing 'trace.csv:2:1: ' $v
printf '# only comments\n' > $v;                       V no-rows 'trace.csv: no requests' $v
printf '0,10,5 # caf\xe9\n' > $v;                      V non-utf8 'trace.csv: not UTF-8' $v
: > $v;                                                V empty 'trace.csv: empty file' $v
huge $v 300M;                                          V huge 'trace.csv: file is [0-9]+ bytes, more than' $v

# ---- device YAML (compare --baselines X.yaml) ----
D() { expect2 "device:$1" "$2" -- "$T" compare --arch tpu-v1 --workload mlp0 --baselines "$3"; }
d=$tmp/dev.yaml
grep -v '^#' "$ROOT/workloads/devices/t4.yaml" > $tmp/t4.yaml
echo "kind: [" > $d;                                   D syntax 'dev.yaml:.*YAML syntax' $d
sed 's/^tdp_w: .*/tdp_w: hot/' $tmp/t4.yaml > $d;      D wrong-type "dev.yaml: key 'tdp_w': expected a number" $d
grep -v '^tdp_w' $tmp/t4.yaml > $d;                    D missing-key "dev.yaml: key 'tdp_w': missing" $d
{ cat $tmp/t4.yaml; echo 'colour: green'; } > $d;      D unknown-key "dev.yaml: unknown key 'colour'" $d
sed 's/^tdp_w: .*/tdp_w: -70/' $tmp/t4.yaml > $d;      D negative "dev.yaml: key 'tdp_w': -70 is out of range" $d
sed 's/^memory_gb_s: .*/memory_gb_s: 0/' $tmp/t4.yaml > $d; D zero "dev.yaml: key 'memory_gb_s': 0 is out of range" $d
sed 's/^tdp_w: .*/tdp_w: 1e400/' $tmp/t4.yaml > $d;   D overflow "dev.yaml: key 'tdp_w': expected a number" $d
sed 's/^memory_gb: .*/memory_gb: 1e300/' $tmp/t4.yaml > $d; D absurd-size "dev.yaml: key 'memory_gb': .* is out of range" $d
nonutf8 $d;                                            D non-utf8 'dev.yaml: not UTF-8' $d
: > $d;                                                D empty 'dev.yaml: empty file' $d
huge $d 17M;                                           D huge 'dev.yaml: file is [0-9]+ bytes, more than' $d

finish
