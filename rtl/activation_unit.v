// activation_unit: accumulator rows -> requantize -> function -> pooling -> unified buffer.
//
// `act a, b, n` issued in cycle t reads accumulator row a + k in cycle t + k (k < n) and runs
// it down a pipeline (timing::act_pipeline_cycles = 4 stages after the read cycle):
//   stage 1  t+k+1  accumulator data; requantize (numerics::requantize)
//   stage 2  t+k+2  function: none / ReLU / sigmoid LUT / tanh LUT (numerics::apply_function)
//   stage 3  t+k+3  pooling over groups of P = 2^d consecutive rows (max, or average rounded
//                   half away from zero, numerics::average_pow2)
//   stage 4  t+k+4  unified-buffer write of the finished group, vector b + k/P; lanes
//                   Cols..VecBytes-1 are written with zero
// so the unit is busy in [t, t + n + 4) and complete from t + n + 4 (sim/isa/ISA.md).
// mult/shift/round and the ub address are latched at issue.
`default_nettype none

module activation_unit #(
  parameter integer Cols          = 4,
  parameter integer VecBytes      = 4,
  parameter integer AccEntries    = 256,
  parameter integer UbVectors     = 1024,
  parameter         SigmoidMemFile = "act_sigmoid.mem",
  parameter         TanhMemFile    = "act_tanh.mem",
  localparam integer AccAddrBits  = $clog2(AccEntries),
  localparam integer UbAddrBits   = $clog2(UbVectors)
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // command
  input  wire                   start_i,
  input  wire [31:0]            acc_addr_i,
  input  wire [31:0]            ub_addr_i,
  input  wire [31:0]            n_i,
  input  wire [1:0]             function_i,
  input  wire [1:0]             pool_i,
  input  wire [2:0]             pool_log2_i,
  input  wire [31:0]            mult_i,
  input  wire [5:0]             shift_i,
  input  wire [1:0]             round_i,
  output wire                   busy_o,
  // accumulator read port
  output wire [AccAddrBits-1:0] acc_rd_addr_o,
  input  wire [Cols*32-1:0]     acc_rd_data_i,
  // unified buffer write port
  output wire                   ub_we_o,
  output wire [UbAddrBits-1:0]  ub_addr_o,
  output wire [VecBytes*8-1:0]  ub_wdata_o
);

  localparam [1:0] FnRelu = 2'd1, FnSigmoid = 2'd2, FnTanh = 2'd3;
  localparam [1:0] PoolAvg = 2'd2;
  localparam [1:0] RoundHalfAway = 2'd0, RoundHalfUp = 2'd1;

  reg [7:0] sigmoid_lut [0:255];
  reg [7:0] tanh_lut    [0:255];
  initial begin
    $readmemh(SigmoidMemFile, sigmoid_lut);
    $readmemh(TanhMemFile, tanh_lut);
  end

  // ---------------------------------------------------------------- configuration (latched)
  reg [1:0]             func_q, pool_q;
  reg [2:0]             log2_q;
  reg [31:0]            mult_q;
  reg [5:0]             shift_q;
  reg [1:0]             round_q;
  reg [UbAddrBits-1:0]  out_addr_q;

  // ---------------------------------------------------------------- stage 0: read
  reg [31:0]            left_q;
  reg [AccAddrBits-1:0] rd_addr_q;
  reg [4:0]             grp_q;

  wire                   s0_on   = start_i || (left_q != 32'd0);
  wire [31:0]            left    = start_i ? n_i : left_q;
  wire [AccAddrBits-1:0] rd_addr = start_i ? acc_addr_i[AccAddrBits-1:0] : rd_addr_q;
  wire [2:0]             log2    = start_i ? pool_log2_i : log2_q;
  wire [4:0]             grp     = start_i ? 5'd0 : grp_q;
  wire [4:0]             grp_max = 5'((5'd1 << log2) - 5'd1);
  wire                   s0_first = (grp == 5'd0);
  wire                   s0_last  = (grp == grp_max);

  reg        v1_q, v2_q, v3_q, v4_q;
  reg        first1_q, first2_q, first3_q;
  reg        last1_q, last2_q, last3_q;
  reg [Cols*8-1:0]  q2_q, q3_q;
  reg [Cols*8-1:0]  q4_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      left_q <= 32'd0;
      v1_q   <= 1'b0;
      v2_q   <= 1'b0;
      v3_q   <= 1'b0;
      v4_q   <= 1'b0;
    end else begin
      left_q <= left - (s0_on ? 32'd1 : 32'd0);
      v1_q   <= s0_on;
      v2_q   <= v1_q;
      v3_q   <= v2_q;
      v4_q   <= v3_q && last3_q;
    end
  end

  always @(posedge clk_i) begin
    if (start_i) begin
      func_q     <= function_i;
      pool_q     <= pool_i;
      log2_q     <= pool_log2_i;
      mult_q     <= mult_i;
      shift_q    <= shift_i;
      round_q    <= round_i;
    end
    rd_addr_q <= rd_addr + 1'b1;
    grp_q     <= s0_last ? 5'd0 : grp + 5'd1;
    first1_q  <= s0_first;
    last1_q   <= s0_last;
    first2_q  <= first1_q;
    last2_q   <= last1_q;
    first3_q  <= first2_q;
    last3_q   <= last2_q;
    if (start_i) out_addr_q <= ub_addr_i[UbAddrBits-1:0];
    else if (v4_q) out_addr_q <= out_addr_q + 1'b1;
  end

  assign acc_rd_addr_o = rd_addr;

  // ---------------------------------------------------------------- per-lane datapath
  wire signed [63:0] half = (shift_q == 6'd0) ? 64'sd0 : (64'sd1 <<< (shift_q - 6'd1));
  wire signed [15:0] pool_half = (log2_q == 3'd0) ? 16'sd0 : (16'sd1 <<< (log2_q - 3'd1));

  reg signed [15:0] pool_q_lane [0:Cols-1];

  genvar c;
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_lane
      // stage 1: requantize = saturate(rounding_shift(acc * mult, shift))
      wire [31:0]        acc  = acc_rd_data_i[c*32 +: 32];
      wire signed [63:0] prod = $signed({{32{acc[31]}}, acc}) * $signed({{32{mult_q[31]}}, mult_q});
      wire signed [63:0] pos  = (prod + half) >>> shift_q;
      wire signed [63:0] neg  = -((-prod + half) >>> shift_q);
      wire signed [63:0] flr  = prod >>> shift_q;
      wire signed [63:0] rnd  = (round_q == RoundHalfAway) ? ((prod >= 0) ? pos : neg) :
                                (round_q == RoundHalfUp)   ? pos : flr;
      wire [7:0]         req  = (rnd > 64'sd127)  ? 8'h7f :
                                (rnd < -64'sd128) ? 8'h80 : rnd[7:0];
      always @(posedge clk_i) q2_q[c*8 +: 8] <= req;

      // stage 2: function
      wire [7:0] x  = q2_q[c*8 +: 8];
      wire [7:0] fn = (func_q == FnRelu)    ? (x[7] ? 8'd0 : x) :
                      (func_q == FnSigmoid) ? sigmoid_lut[x ^ 8'h80] :
                      (func_q == FnTanh)    ? tanh_lut[x ^ 8'h80] : x;
      always @(posedge clk_i) q3_q[c*8 +: 8] <= fn;

      // stage 3: pooling (P = 1 passes the value through for every pool kind)
      wire signed [15:0] val = {{8{q3_q[c*8+7]}}, q3_q[c*8 +: 8]};
      wire signed [15:0] acc_p = pool_q_lane[c];
      wire signed [15:0] cur = first3_q ? val :
                               (pool_q == PoolAvg) ? (acc_p + val) :
                               ((val > acc_p) ? val : acc_p);
      wire signed [15:0] avg_pos = (cur + pool_half) >>> log2_q;
      wire signed [15:0] avg_neg = -((-cur + pool_half) >>> log2_q);
      wire signed [15:0] avg = (cur >= 0) ? avg_pos : avg_neg;
      wire [7:0] avg8 = (avg > 16'sd127) ? 8'h7f : (avg < -16'sd128) ? 8'h80 : avg[7:0];
      wire [7:0] out  = (pool_q == PoolAvg) ? avg8 : cur[7:0];
      always @(posedge clk_i) begin
        if (v3_q) pool_q_lane[c] <= cur;
        if (v3_q && last3_q) q4_q[c*8 +: 8] <= out;
      end
    end
  endgenerate

  // ---------------------------------------------------------------- stage 4: UB write
  assign ub_we_o    = v4_q;
  assign ub_addr_o  = out_addr_q;
  generate
    if (VecBytes > Cols) begin : gen_pad
      assign ub_wdata_o = {{(VecBytes-Cols)*8{1'b0}}, q4_q};
    end else begin : gen_nopad
      assign ub_wdata_o = q4_q;
    end
  endgenerate

  assign busy_o = (left_q != 32'd0) || v1_q || v2_q || v3_q || v4_q;

  wire unused_cfg = ^{acc_addr_i[31:AccAddrBits], ub_addr_i[31:UbAddrBits]};

endmodule

`default_nettype wire
