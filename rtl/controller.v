// controller: instruction memory, front end, in-order blocking issue, the MXU input sequencer,
// the setc registers and the six performance counters of sim/isa/ISA.md.
//
// Front end (timing::front_end_cycles = 2): fetch register (imem[pc] in cycle c, valid in
// c + 1) and decode register (valid in c + 2). The decode register holds the instruction under
// consideration; it is replaced in the cycle after it issues, so instruction k issues no
// earlier than I_{k-1} + 1 and I_0 >= 2.
//
// Issue conditions (cycle t; each unit starts in the issue cycle):
//   nop, setc   always                  rhm, whm  host link idle
//   rw          weight link accepts     mmc       MXU input free, and with `switch` the shadow
//   act         activation unit idle                full (weight_fifo)
//   sync        every unit of the mask has at most d    halt  every unit complete
//               incomplete instructions
// Incomplete instructions per unit (each unit completes its instructions in issue order):
// host link and activation unit run one at a time (their busy bit); the MXU counts mmcs issued
// and not yet written back (mxu_pend_q: +1 at issue, -1 when the accumulators write an mmc's
// last row, mmc_done_i); the weight link counts rws whose last tile has not arrived (w_pend_q:
// +1 at issue, -1 at that arrival, rw_done_i, which counts in its own cycle as the old
// all-tiles-arrived condition did). "Complete" = none incomplete.
//
// MXU sequencer: `mmc a, b, B` injects row i in cycle t + i by addressing UB[a + i]; the UB's
// read register and the valid/switch/last/tag registers here present it to the array in
// t + i + 1 (mxu_last_o marks row B - 1: its write-back completes the mmc).
//
// Counters (cycles [0, total_cycles), exactly one of the first four per cycle):
// array_active (a row injected), weight_stall (held by `mmc switch`, tile not arrived, or by an
// rw waiting for the weight DMA),
// weight_shift (held by `mmc switch`, tile arrived), non_matrix (otherwise); raw_stall (held by
// sync) and input_stall (held by rhm/whm) are subsets of non_matrix.
`default_nettype none

module controller #(
  parameter integer ImemDepth  = 4096,
  parameter integer UbVectors  = 1024,
  parameter integer AccEntries = 256,
  localparam integer ImemAddrBits = $clog2(ImemDepth),
  localparam integer UbAddrBits   = $clog2(UbVectors),
  localparam integer AccAddrBits  = $clog2(AccEntries)
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  // instruction memory back door
  input  wire                    bd_imem_we_i,
  input  wire [31:0]             bd_imem_addr_i,
  input  wire [127:0]            bd_imem_wdata_i,
  // unit status
  input  wire                    host_busy_i,
  input  wire                    w_free_i,
  input  wire                    rw_done_i,
  input  wire                    shadow_full_i,
  input  wire                    tile_arrived_i,
  input  wire                    mmc_done_i,
  input  wire                    act_busy_i,
  // host link command
  output wire                    host_start_o,
  output wire                    host_write_o,
  output wire [31:0]             host_addr_o,
  output wire [31:0]             host_ub_addr_o,
  output wire [31:0]             host_n_o,
  // weight link command
  output wire                    w_start_o,
  output wire [31:0]             w_tile_o,
  output wire [31:0]             w_n_o,
  // MXU
  output wire                    switch_o,
  output wire [UbAddrBits-1:0]   mxu_ub_addr_o,
  output reg                     mxu_valid_o,
  output reg                     mxu_switch_o,
  output reg                     mxu_last_o,
  output reg                     mxu_accumulate_o,
  output reg  [AccAddrBits-1:0]  mxu_acc_addr_o,
  // activation command
  output wire                    act_start_o,
  output wire [31:0]             act_acc_addr_o,
  output wire [31:0]             act_ub_addr_o,
  output wire [31:0]             act_n_o,
  output wire [1:0]              act_function_o,
  output wire [1:0]              act_pool_o,
  output wire [2:0]              act_pool_log2_o,
  output wire [31:0]             act_mult_o,
  output wire [5:0]              act_shift_o,
  output wire [1:0]              act_round_o,
  output wire                    act_pool2d_o,
  output wire [15:0]             act_out_n_o,
  output wire [31:0]             act_pool_in_o,
  output wire [31:0]             act_pool_window_o,
  output wire [31:0]             act_pool_pad_o,
  output wire [24:0]             act_pool_recip_o,
  // status
  output wire                    issue_valid_o,
  output wire [31:0]             issue_pc_o,
  output wire [7:0]              issue_opcode_o,
  output wire                    done_o,
  output wire                    error_o,
  output wire [63:0]             cycle_o,
  output wire [63:0]             total_cycles_o,
  output wire [63:0]             cnt_array_active_o,
  output wire [63:0]             cnt_weight_stall_o,
  output wire [63:0]             cnt_weight_shift_o,
  output wire [63:0]             cnt_non_matrix_o,
  output wire [63:0]             cnt_raw_stall_o,
  output wire [63:0]             cnt_input_stall_o
);

  localparam [7:0] OpNop = 8'h00, OpHalt = 8'h01, OpRhm = 8'h02, OpWhm = 8'h03, OpRw = 8'h04,
                   OpMmc = 8'h05, OpAct = 8'h06, OpSetc = 8'h07, OpSync = 8'h08;

  reg [127:0] imem [0:ImemDepth-1];
  wire unused_bd_imem_addr = ^bd_imem_addr_i[31:ImemAddrBits];
  always @(posedge clk_i) begin
    if (bd_imem_we_i) imem[bd_imem_addr_i[ImemAddrBits-1:0]] <= bd_imem_wdata_i;
  end

  // ---------------------------------------------------------------- front end
  reg [31:0]  pc_q;
  reg         if_valid_q;
  reg [31:0]  if_pc_q;
  reg [127:0] if_instr_q;
  reg         id_valid_q;
  reg [31:0]  id_pc_q;
  reg [127:0] id_instr_q;
  reg         halted_q, error_q;

  wire [7:0]  op    = id_instr_q[7:0];
  wire [7:0]  flags = id_instr_q[15:8];
  wire [15:0] imm_d = id_instr_q[31:16];
  wire [31:0] fa    = id_instr_q[63:32];
  wire [31:0] fb    = id_instr_q[95:64];
  wire [31:0] fc    = id_instr_q[127:96];

  // Encoding checks (sim/isa/ISA.md "Binary encoding"); a bad word stops the core with error_o.
  reg legal;
  always @* begin
    case (op)
      OpNop, OpHalt: legal = (flags == 8'd0) && (imm_d == 16'd0) && (fa == 32'd0) &&
                             (fb == 32'd0) && (fc == 32'd0);
      OpRhm, OpWhm:  legal = (flags == 8'd0) && (imm_d == 16'd0) && (fc != 32'd0);
      OpRw:          legal = (flags == 8'd0) && (imm_d == 16'd0) && (fb == 32'd0) && (fc != 32'd0);
      OpMmc:         legal = (flags[7:2] == 6'd0) && (imm_d == 16'd0) && (fc != 32'd0);
      OpAct:         legal = (flags[7:5] == 3'd0) && (flags[3:2] != 2'd3) && (fc != 32'd0) &&
                             (flags[4] ? ((flags[3:2] != 2'd0) && (imm_d != 16'd0)) :
                                         ((imm_d <= 16'd4) &&
                                          ((flags[3:2] != 2'd0) || (imm_d == 16'd0))));
      OpSetc:        legal = (flags == 8'd0) && (imm_d == 16'd0) && (fc == 32'd0) && (fa < 32'd7);
      OpSync:        legal = (flags[7:4] == 4'd0) && (flags[3:0] != 4'd0) &&
                             (fa == 32'd0) && (fb == 32'd0) && (fc == 32'd0);
      default:       legal = 1'b0;
    endcase
  end

  // ---------------------------------------------------------------- unit state
  reg [31:0]            mx_left_q;
  reg [UbAddrBits-1:0]  mx_ub_q;
  reg [AccAddrBits-1:0] mx_acc_q;
  reg                   mx_accumulate_q;

  reg  [15:0]           mxu_pend_q, w_pend_q;

  wire host_done    = !host_busy_i;
  wire mxu_in_free  = (mx_left_q == 32'd0);
  wire act_done     = !act_busy_i;
  // incomplete instructions per unit, in sync mask bit order
  wire [15:0] pend_host = {15'd0, host_busy_i};
  wire [15:0] pend_w    = w_pend_q - {15'd0, rw_done_i};
  wire [15:0] pend_mxu  = mxu_pend_q;
  wire [15:0] pend_act  = {15'd0, act_busy_i};
  // within_d[u]: unit u has at most imm_d incomplete; done[u]: none
  wire [3:0] within_d = {pend_act <= imm_d, pend_mxu <= imm_d, pend_w <= imm_d,
                         pend_host <= imm_d};
  wire [3:0] done_mask = {pend_act == 16'd0, pend_mxu == 16'd0, pend_w == 16'd0,
                          pend_host == 16'd0};

  reg can_issue;
  always @* begin
    case (op)
      OpRhm, OpWhm: can_issue = host_done;
      OpRw:         can_issue = w_free_i;
      OpMmc:        can_issue = mxu_in_free && (!flags[1] || shadow_full_i);
      OpAct:        can_issue = act_done;
      OpSync:       can_issue = ((within_d & flags[3:0]) == flags[3:0]);
      OpHalt:       can_issue = (done_mask == 4'hf);
      default:      can_issue = 1'b1;
    endcase
  end

  wire run      = !halted_q;
  wire issue    = run && id_valid_q && legal && can_issue;
  wire held     = run && id_valid_q && legal && !can_issue;
  wire id_ready = !id_valid_q || issue;
  wire if_ready = !if_valid_q || id_ready;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pc_q       <= 32'd0;
      if_valid_q <= 1'b0;
      id_valid_q <= 1'b0;
      halted_q   <= 1'b0;
      error_q    <= 1'b0;
    end else begin
      if (run && if_ready) begin
        if_valid_q <= 1'b1;
        pc_q       <= pc_q + 32'd1;
      end
      if (run && id_ready) id_valid_q <= if_valid_q;
      if (issue && op == OpHalt) halted_q <= 1'b1;
      if (run && id_valid_q && !legal) begin
        halted_q <= 1'b1;
        error_q  <= 1'b1;
      end
    end
  end

  always @(posedge clk_i) begin
    if (run && if_ready) begin
      if_instr_q <= imem[pc_q[ImemAddrBits-1:0]];
      if_pc_q    <= pc_q;
    end
    if (run && id_ready) begin
      id_instr_q <= if_instr_q;
      id_pc_q    <= if_pc_q;
    end
  end

  // ---------------------------------------------------------------- dispatch
  wire is_mmc = issue && (op == OpMmc);

  assign host_start_o   = issue && (op == OpRhm || op == OpWhm);
  assign host_write_o   = (op == OpWhm);
  assign host_addr_o    = fa;
  assign host_ub_addr_o = fb;
  assign host_n_o       = fc;

  assign w_start_o = issue && (op == OpRw);
  assign w_tile_o  = fa;
  assign w_n_o     = fc;

  assign switch_o = is_mmc && flags[1];

  // MXU input sequencer
  wire inject = is_mmc || (mx_left_q != 32'd0);
  assign mxu_ub_addr_o = is_mmc ? fa[UbAddrBits-1:0] : mx_ub_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mx_left_q    <= 32'd0;
      mxu_valid_o  <= 1'b0;
      mxu_switch_o <= 1'b0;
      mxu_last_o   <= 1'b0;
      mxu_pend_q   <= 16'd0;
      w_pend_q     <= 16'd0;
    end else begin
      if (is_mmc) mx_left_q <= fc - 32'd1;
      else if (mx_left_q != 32'd0) mx_left_q <= mx_left_q - 32'd1;
      mxu_valid_o  <= inject;
      mxu_switch_o <= switch_o;
      mxu_last_o   <= is_mmc ? (fc == 32'd1) : (mx_left_q == 32'd1);
      mxu_pend_q   <= mxu_pend_q + {15'd0, is_mmc} - {15'd0, mmc_done_i};
      w_pend_q     <= w_pend_q + {15'd0, w_start_o} - {15'd0, rw_done_i};
    end
  end

  always @(posedge clk_i) begin
    if (is_mmc) begin
      mx_ub_q         <= fa[UbAddrBits-1:0] + 1'b1;
      mx_acc_q        <= fb[AccAddrBits-1:0] + 1'b1;
      mx_accumulate_q <= flags[0];
    end else if (inject) begin
      mx_ub_q  <= mx_ub_q + 1'b1;
      mx_acc_q <= mx_acc_q + 1'b1;
    end
    mxu_acc_addr_o   <= is_mmc ? fb[AccAddrBits-1:0] : mx_acc_q;
    mxu_accumulate_o <= is_mmc ? flags[0] : mx_accumulate_q;
  end

  // setc registers (reset values as tpusim::ArchState)
  reg [31:0] mult_q;
  reg [5:0]  shift_q;
  reg [1:0]  round_q;
  reg [31:0] pool_in_q, pool_window_q, pool_pad_q;
  reg [24:0] pool_recip_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mult_q        <= 32'h4000_0000;
      shift_q       <= 6'd30;
      round_q       <= 2'd0;
      pool_in_q     <= 32'h0001_0001;
      pool_window_q <= 32'h0101_0101;
      pool_pad_q    <= 32'd0;
      pool_recip_q  <= 25'h100_0000;
    end else if (issue && op == OpSetc) begin
      case (fa[2:0])
        3'd0:    mult_q        <= fb;
        3'd1:    shift_q       <= fb[5:0];
        3'd2:    round_q       <= fb[1:0];
        3'd3:    pool_in_q     <= fb;
        3'd4:    pool_window_q <= fb;
        3'd5:    pool_pad_q    <= fb;
        default: pool_recip_q  <= fb[24:0];
      endcase
    end
  end

  assign act_start_o     = issue && (op == OpAct);
  assign act_acc_addr_o  = fa;
  assign act_ub_addr_o   = fb;
  assign act_n_o         = fc;
  assign act_function_o  = flags[1:0];
  assign act_pool_o      = flags[3:2];
  assign act_pool_log2_o = imm_d[2:0];
  assign act_mult_o      = mult_q;
  assign act_shift_o     = shift_q;
  assign act_round_o     = round_q;
  assign act_pool2d_o    = flags[4];
  assign act_out_n_o     = imm_d;
  assign act_pool_in_o     = pool_in_q;
  assign act_pool_window_o = pool_window_q;
  assign act_pool_pad_o    = pool_pad_q;
  assign act_pool_recip_o  = pool_recip_q;

  // ---------------------------------------------------------------- counters
  reg [63:0] cycle_q, total_q;
  reg [63:0] c_active_q, c_wstall_q, c_wshift_q, c_nonmatrix_q, c_raw_q, c_input_q;

  wire held_switch = held && (op == OpMmc) && flags[1];

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cycle_q       <= 64'd0;
      total_q       <= 64'd0;
      c_active_q    <= 64'd0;
      c_wstall_q    <= 64'd0;
      c_wshift_q    <= 64'd0;
      c_nonmatrix_q <= 64'd0;
      c_raw_q       <= 64'd0;
      c_input_q     <= 64'd0;
    end else if (run) begin
      cycle_q <= cycle_q + 64'd1;
      if (issue && op == OpHalt) total_q <= cycle_q + 64'd1;
      if (inject) begin
        c_active_q <= c_active_q + 64'd1;
      end else if ((held_switch && !tile_arrived_i) || (held && op == OpRw)) begin
        c_wstall_q <= c_wstall_q + 64'd1;
      end else if (held_switch) begin
        c_wshift_q <= c_wshift_q + 64'd1;
      end else begin
        c_nonmatrix_q <= c_nonmatrix_q + 64'd1;
        if (held && op == OpSync) c_raw_q <= c_raw_q + 64'd1;
        if (held && (op == OpRhm || op == OpWhm)) c_input_q <= c_input_q + 64'd1;
      end
    end
  end

  assign issue_valid_o      = issue;
  assign issue_pc_o         = id_pc_q;
  assign issue_opcode_o     = op;
  assign done_o             = halted_q;
  assign error_o            = error_q;
  assign cycle_o            = cycle_q;
  assign total_cycles_o     = total_q;
  assign cnt_array_active_o = c_active_q;
  assign cnt_weight_stall_o = c_wstall_q;
  assign cnt_weight_shift_o = c_wshift_q;
  assign cnt_non_matrix_o   = c_nonmatrix_q;
  assign cnt_raw_stall_o    = c_raw_q;
  assign cnt_input_stall_o  = c_input_q;

endmodule

`default_nettype wire
