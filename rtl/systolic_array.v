// systolic_array: Rows x Cols PEs with input skew and output de-skew.
//
// Software view: a vector presented on act_i in cycle x (lane r = array row r) leaves as one
// de-skewed row of Cols int32 dot products on psum_o in cycle x + Rows + Cols - 1.
//   - input skew: row r is delayed r cycles, so PE(r, c) sees vector x in cycle x + r + c;
//   - column traversal: PE(Rows-1, c) registers its sum, valid in cycle x + Rows + c;
//   - output de-skew: column c is delayed Cols - 1 - c cycles.
// valid_i/tag_i ride a plain delay line of the same length (Rows + Cols - 1), so the
// accumulator write address (and the mmc's last-row mark) stays aligned with the data.
//
// The PE (index i = r * Cols + c). Activations flow west to east and partial sums north to
// south, each through one register per PE; the PE holds two int8 weights, `active`, used by the
// multiply, and `shadow`, written by the weight shift while the active weight computes (the
// TPU's double buffering). `switch` travels east with the first activation of an
// `mmc switch`: in that cycle the multiply already uses the shadow weight and the shadow is
// copied into the active register, so the switch wavefront moves through the array exactly
// with the data it applies to. Per edge:
//   act_q[i]    <= act_in                  (act_in: act_q[i-1], or the skew at column 0)
//   sw_q[i]     <= sw_in
//   psum_q[i]   <= psum_in + act_in * w    (w = sw_in ? shadow_q[i] : active_q[i]; int32
//                                           wrap-around, numerics::wrap_add; psum_in:
//                                           psum_q[i - Cols], or 0 in row 0)
//   active_q[i] <= w
//   shadow_q[i] <= the shift's byte when a weight bus writes PE i, else shadow_q[i]
// Every PE register is reset (asynchronously, as every control register).
//
// The mesh is written as arrays indexed by PE and updated in one loop, not as Rows x Cols PE
// instances: Verilator keeps a loop of more than 64 iterations as a loop, so the verilated code
// stays one PE's worth whatever the array size (instances are flattened into straight-line
// code per PE: 36 MB of C++ at 64x64; scripts/bench/cycle_vs_verilator.sh). How the loop
// stays equal to a register per PE is said at the process.
//
// Weight shift: ShiftPorts row buses per column (one per shift port of this MXU's weight FIFO,
// rtl/weight_fifo.v; lane p * Cols + c is port p's bus of column c). Port p's column c writes
// its shadow register in row weight_sel_i[p*Cols+c] with weight_i[p*Cols+c] when
// weight_valid_i[p*Cols+c]. The weight FIFO skews the columns (column c writes row i in cycle
// s + i + c), so each column is one decoder per port on buses that run down the column. At most
// one port writes a given PE in a cycle (two shifts in flight start >= 2 cycles apart and move
// one row per cycle down the same diagonals, sim/isa/ISA.md "Shift ports").
//
// Each weight bus is registered every BusRows rows (segments j = rows [j BusRows, (j+1)
// BusRows)): segment j sees the bus j cycles late and decodes only its own rows, so the shift
// writes row i of column c in cycle s + i + c + floor(i / BusRows) and no wire drives more than
// BusRows rows. BusRows = 1 is a shift down the column PE to PE (as Gemmini and the TPU shift
// weights), BusRows = Rows one broadcast per column. The switch then waits for the deepest
// stage (timing::weight_shift_to_switch_cycles, rtl/weight_fifo.v); the same diagonals keep the
// rest of the argument (sim/isa/ISA.md "Weight path"). Two writes in one cycle can only land on
// one PE if two lanes of one column carry the same row in one cycle, which the check below
// rules out at the inputs (every stage is a delayed copy of them).
`default_nettype none

// The shadow-write decode: per PE for synthesis (unless TPUSIM_LANE_DECODE asks for the
// simulation form, as the equivalence proof does), per lane for simulation; see the process.
`ifdef SYNTHESIS
`ifndef TPUSIM_LANE_DECODE
`define TPUSIM_PE_DECODE
`endif
`endif
// the bus stage register that segment (i / Cols) / BusRows >= 1 reads (0 for segment 0, unused)
`define TPUSIM_STAGE(i) ((i) / Cols / BusRows == 0 ? 0 : (i) / Cols / BusRows - 1)

module systolic_array #(
  parameter integer Rows    = 4,
  parameter integer Cols    = 4,
  parameter integer TagBits    = 8,
  parameter integer ShiftPorts = 1,
  parameter integer BusRows    = 4,
  localparam integer RowBits = $clog2(Rows),
  localparam integer Lanes   = ShiftPorts * Cols  // (port, column) weight buses, port-major
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  // input vector (from the unified buffer read register)
  input  wire                 valid_i,
  input  wire                 switch_i,
  input  wire [TagBits-1:0]   tag_i,
  input  wire [Rows*8-1:0]    act_i,
  // de-skewed output row
  output wire                 valid_o,
  output wire [TagBits-1:0]   tag_o,
  output wire [Cols*32-1:0]   psum_o,
  // weight shift into the shadow registers
  input  wire [Lanes-1:0]         weight_valid_i,
  input  wire [Lanes*RowBits-1:0] weight_sel_i,
  input  wire [Lanes*8-1:0]       weight_i
);

  localparam integer Depth = Rows + Cols - 1;
  localparam integer N     = Rows * Cols;
  localparam integer Segs  = (Rows + BusRows - 1) / BusRows;  // weight-bus segments
  localparam integer Regs  = (Segs > 1) ? Segs - 1 : 1;       // their pipeline stages (>= 1)

  genvar r, c;

  // ---------------------------------------------------------------- input skew
  // west_act[r] / west_sw[r]: what enters column 0 of row r (row r's input of r edges ago).
  // Row r > 0 is a packed shift register of r stages of {switch, act}.
  wire [7:0] west_act [0:Rows-1];
  wire       west_sw  [0:Rows-1];
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_skew
      if (r == 0) begin : gen_direct
        assign west_act[0] = act_i[0 +: 8];
        assign west_sw[0]  = switch_i;
      end else if (r == 1) begin : gen_one
        reg [8:0] skew_q;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) skew_q <= 9'd0;
          else         skew_q <= {switch_i, act_i[8 +: 8]};
        end
        assign west_act[1] = skew_q[7:0];
        assign west_sw[1]  = skew_q[8];
      end else begin : gen_delay
        reg [9*r-1:0] skew_q;  // stage k (k = 0 newest) at bits [9k +: 9]
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) skew_q <= {(9*r){1'b0}};
          else         skew_q <= {skew_q[9*(r-1)-1:0], switch_i, act_i[r*8 +: 8]};
        end
        assign west_act[r] = skew_q[9*(r-1) +: 8];
        assign west_sw[r]  = skew_q[9*(r-1) + 8];
      end
    end
  endgenerate

  // ---------------------------------------------------------------- weight-bus stages
  // Stage j (1 .. Segs-1) of lane l at index (j-1) * Lanes + l of the packed vectors.
  reg [Regs*Lanes-1:0]         bus_valid_q;
  reg [Regs*Lanes*RowBits-1:0] bus_sel_q;
  reg [Regs*Lanes*8-1:0]       bus_data_q;
  generate
    if (Segs == 1) begin : gen_bus_none
      always @* begin
        bus_valid_q = {(Regs*Lanes){1'b0}};
        bus_sel_q   = {(Regs*Lanes*RowBits){1'b0}};
        bus_data_q  = {(Regs*Lanes*8){1'b0}};
      end
    end else if (Segs == 2) begin : gen_bus_one
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) bus_valid_q <= {(Regs*Lanes){1'b0}};
        else         bus_valid_q <= weight_valid_i;
      end
      always @(posedge clk_i) begin
        bus_sel_q  <= weight_sel_i;
        bus_data_q <= weight_i;
      end
    end else begin : gen_bus_stages
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) bus_valid_q <= {(Regs*Lanes){1'b0}};
        else         bus_valid_q <= {bus_valid_q[(Regs-1)*Lanes-1:0], weight_valid_i};
      end
      always @(posedge clk_i) begin
        bus_sel_q  <= {bus_sel_q[(Regs-1)*Lanes*RowBits-1:0], weight_sel_i};
        bus_data_q <= {bus_data_q[(Regs-1)*Lanes*8-1:0], weight_i};
      end
    end
  endgenerate

  // ---------------------------------------------------------------- PE mesh
  // PE i's registers. Rows 0 .. Rows-2 keep their partial sums in psum_q; the bottom row's go
  // to psum_bot_q, which the de-skew reads (see below).
  reg [7:0]         act_q    [0:N-1];
  reg               sw_q     [0:N-1];
  reg [7:0]         active_q [0:N-1];
  reg [7:0]         shadow_q [0:N-1];
  reg [31:0]        psum_q   [0:N-1];  // the bottom row's entries unused: a power-of-two
                                       // array needs no bounds check in the verilated code
  reg [32*Cols-1:0] psum_bot_q;

  integer i, k, pr, pc, l;  // PE k = (row pr, column pc) in the mesh loop; i elsewhere
`ifndef TPUSIM_PE_DECODE
  integer j, x;  // bus segment, stage index
  reg [31:0] b_row;
`endif
  reg               b_valid;
  reg [RowBits-1:0] b_sel;
  reg [7:0]         b_data;
  reg [7:0]         a_in;
  reg               s_in;
  reg [7:0]         w_eff;
  reg [31:0]        sum;
  // One process updates the whole mesh with blocking assignments, PE N-1 down to PE 0: every
  // register is read (by itself, its east and its south neighbour) before it is written, so the
  // result is that of non-blocking assignments (a register stage per PE) while Verilator keeps
  // the loop a loop (it rejects non-blocking writes to array elements in a loop it keeps, and
  // turns a registered whole array into one assignment per element in straight-line code).
  // Nothing outside this process reads the mesh arrays: the de-skew reads psum_bot_q, written
  // non-blocking. The shadow writes come after the loop, which read the old shadows.
  //
  // The loop's index and temporaries are also assigned at the top of the process, before the
  // reset branch (simulation only): Verilator makes a variable a C++ local only where the
  // function assigns it outside any branch or loop, and a local stays in a CPU register, where
  // a member is stored and reloaded every iteration (each byte-array store may alias it). With
  // the model's per-cycle code at -O2 this makes the 64x64 mesh ~1.6x faster
  // (results/cycle_speed.md). They are temporaries: every read follows a write in the same run.
  /* verilator lint_off BLKSEQ */
  always @(posedge clk_i or negedge rst_ni) begin
`ifndef SYNTHESIS
    k = 0; pr = 0; pc = 0; a_in = 8'd0; s_in = 1'b0; w_eff = 8'd0; sum = 32'd0;
`endif
    if (!rst_ni) begin
      for (i = 0; i < N; i = i + 1) begin
        act_q[i]    = 8'd0;
        sw_q[i]     = 1'b0;
        active_q[i] = 8'd0;
        shadow_q[i] = 8'd0;
      end
      for (i = 0; i < N; i = i + 1) psum_q[i] = 32'd0;
      psum_bot_q <= {(32*Cols){1'b0}};
    end else begin
      for (k = N - 1; k >= 0; k = k - 1) begin
        pr    = k / Cols;
        pc    = k % Cols;
        a_in  = pc == 0 ? west_act[pr] : act_q[k-1];
        s_in  = pc == 0 ? west_sw[pr]  : sw_q[k-1];
        w_eff = s_in ? shadow_q[k] : active_q[k];
        // the int8 x int8 product in a 32-bit context: exact, sign-extended, int32 wrap-around
        sum   = (pr == 0 ? 32'd0 : psum_q[k-Cols]) + 32'($signed(a_in) * $signed(w_eff));
        if (pr == Rows - 1) psum_bot_q[pc*32 +: 32] <= sum;
        else                psum_q[k] = sum;
        act_q[k]    = a_in;
        sw_q[k]     = s_in;
        active_q[k] = w_eff;
      end
`ifdef TPUSIM_PE_DECODE
      // shadow writes, per PE (the synthesis form): PE (r, c) = PE i takes the byte of lane
      // l = p * Cols + c from segment r / BusRows's stage of the bus when it selects row r. Every
      // index is a constant of i and l after unrolling, so synthesis builds one row comparator per
      // PE and port; simulation takes the form below, which visits each lane once, not each PE
      // (the two are checked equal output for output on random inputs, scripts/rtl_forms_check.sh).
      for (i = 0; i < N; i = i + 1)
        for (l = i % Cols; l < Lanes; l = l + Cols) begin
          b_valid = i / Cols < BusRows ? weight_valid_i[l]
                                       : bus_valid_q[`TPUSIM_STAGE(i) * Lanes + l];
          b_sel   = i / Cols < BusRows ? weight_sel_i[l*RowBits +: RowBits]
                                       : bus_sel_q[(`TPUSIM_STAGE(i) * Lanes + l)*RowBits +: RowBits];
          b_data  = i / Cols < BusRows ? weight_i[l*8 +: 8]
                                       : bus_data_q[(`TPUSIM_STAGE(i) * Lanes + l)*8 +: 8];
          if (b_valid && 32'(b_sel) == i / Cols) shadow_q[i] = b_data;
        end
`else
      // shadow writes: lane l (port l / Cols) writes row sel of column l % Cols, decoded in the
      // segment that holds the row, from the bus as that segment sees it (stage j)
      for (j = 0; j < Segs; j = j + 1)
        for (l = 0; l < Lanes; l = l + 1) begin
          x       = (j == 0 ? 0 : j - 1) * Lanes + l;
          b_valid = j == 0 ? weight_valid_i[l] : bus_valid_q[x];
          b_sel   = j == 0 ? weight_sel_i[l*RowBits +: RowBits] : bus_sel_q[x*RowBits +: RowBits];
          b_data  = j == 0 ? weight_i[l*8 +: 8] : bus_data_q[x*8 +: 8];
          b_row   = 32'(b_sel);
          if (b_valid && b_row >= j * BusRows && b_row < (j + 1) * BusRows)
            shadow_q[b_row * Cols + l % Cols] = b_data;
        end
`endif
    end
  end
  /* verilator lint_on BLKSEQ */

`ifndef SYNTHESIS
  // at most one port writes a PE in a cycle (see the header)
  integer q1, q2;
  always @(posedge clk_i) begin
    if (ShiftPorts > 1)  // in reset no bus is valid
      for (q1 = 0; q1 < Lanes; q1 = q1 + 1)
        for (q2 = q1 + Cols; q2 < Lanes; q2 = q2 + Cols)
          if (weight_valid_i[q1] && weight_valid_i[q2] &&
              weight_sel_i[q1*RowBits +: RowBits] == weight_sel_i[q2*RowBits +: RowBits])
            $error("two shift ports write one PE");
  end
`endif

  // The east edge of the mesh has no consumer: act_q/sw_q of the last column are registered
  // and never read, kept for the uniform loop (synthesis removes them).

  // ---------------------------------------------------------------- output de-skew
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_deskew
      localparam integer D = Cols - 1 - c;
      if (D == 0) begin : gen_direct
        assign psum_o[c*32 +: 32] = psum_bot_q[c*32 +: 32];
      end else if (D == 1) begin : gen_one
        reg [31:0] deskew_q;
        always @(posedge clk_i) deskew_q <= psum_bot_q[c*32 +: 32];
        assign psum_o[c*32 +: 32] = deskew_q;
      end else begin : gen_delay
        reg [32*D-1:0] deskew_q;  // stage k (k = 0 newest) at bits [32k +: 32]
        always @(posedge clk_i) deskew_q <= {deskew_q[32*(D-1)-1:0], psum_bot_q[c*32 +: 32]};
        assign psum_o[c*32 +: 32] = deskew_q[32*(D-1) +: 32];
      end
    end
  endgenerate

  // ---------------------------------------------------------------- valid / tag delay line
  reg [Depth-1:0]         valid_q;
  reg [Depth*TagBits-1:0] tag_q;  // stage k (k = 0 newest) at bits [TagBits k +: TagBits]
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= {Depth{1'b0}};
    end else begin
      valid_q <= {valid_q[Depth-2:0], valid_i};
    end
  end
  always @(posedge clk_i) tag_q <= {tag_q[(Depth-1)*TagBits-1:0], tag_i};

  assign valid_o = valid_q[Depth-1];
  assign tag_o   = tag_q[(Depth-1)*TagBits +: TagBits];

endmodule

`undef TPUSIM_STAGE
`ifdef TPUSIM_PE_DECODE
`undef TPUSIM_PE_DECODE
`endif

`default_nettype wire
