// controller: instruction memory, front end, in-order blocking issue, one input sequencer per
// MXU, the setc registers and the six performance counters of sim/isa/ISA.md.
//
// Front end (timing::front_end_cycles = 2): fetch register (imem[pc] in cycle c, valid in
// c + 1) and decode register (valid in c + 2). The decode register holds the instruction under
// consideration; it is replaced in the cycle after it issues, so instruction k issues no
// earlier than I_{k-1} + 1 and I_0 >= 2.
//
// Issue conditions (cycle t; each unit starts in the issue cycle):
//   nop, setc   always
//   rhm, whm    host link idle; the bank interlock (below)
//   rw          weight link accepts
//   act         activation unit idle; the bank interlock
//   mmc         ITS MXU d's input free, and with `switch` its shadow full (its weight_fifo); with
//               fan F, for each follower j = 1..F: MXU d + j's input free at t + j (its
//               gen_mxu sequencer's mx_left_q <= j) and, with `switch`, its shadow full; unless
//               `chain`, the bank interlock
//   sync        every unit of the mask (mxu: every MXU) has at most d incomplete instructions
//   halt        every unit (every MXU) complete
// `rw` and `mmc` name their MXU in field d (imm_d < Mxus, and for an mmc imm_d + F < Mxus,
// checked by the decoder); the rw's MXU goes to the weight DMA with the command (w_mxu_o), which
// fills that MXU's FIFO.
//
// Chained inputs (sim/isa/ISA.md): the F mmcs right after a source with fan F are `chain` mmcs
// on MXUs d + 1 .. d + F (validation checks the program's chains). Follower j's own condition
// holds in the cycle after its predecessor issued, because the source waited for it: its input
// is free by then and its shadow stays full until its own switch. So follower j issues at
// exactly t + j; an assertion stops the simulation if a chain mmc is ever held. A chain mmc reads
// no UB: mxu_ub_re_o[m] is low in its cycles and mxu_chain_o[m] tells rtl/tpu_top.v to feed
// array m the row MXU m - 1 was fed one cycle before.
// UB bank interlock (sim/isa/ISA.md, "UB banks"). The UB is Banks banks of BankVecs vectors
// (rtl/unified_buffer.v), each with one read and one write port and no arbiter. Each unit's last
// UB access is a window: the banks [lo, hi] of its first and last vector, registered at its
// issue, and whether it is still open in the cycle under consideration (the window's end in the
// fast engine is the first cycle at which it is closed):
//   MXU m, a non-chain mmc  reads   a .. a+B-1   open while gen_mxu[m] injects it (mx_left_q != 0
//                                                after the issue cycle; a chain mmc reads nothing)
//   host DMA, whm           reads   b .. b+n-1   [t, t + n): dma_rd_left_q, n - 1 after the issue
//   host DMA, rhm           writes  b .. b+n-1   [t + 1, t + n + 1): dma_wr_left_q, n after it
//   activation unit, act    writes  its outputs  while act_busy_i (b .. b + M - 1 for a 2-D act,
//                                                b .. b + (n >> d) - 1 otherwise)
// The instruction under consideration, with its banks [ub_lo, ub_hi] (combinational, bank_of its
// first and last vector), issues only when no window of another unit that reads (for a reader)
// or writes (for a writer) and overlaps it is open: a non-chain mmc on MXU d waits for the other
// MXUs' and the DMA's read windows, a whm for every MXU's, an rhm for the activation unit's
// write window and an act for the DMA's. A read beside a write is a bank's two ports. So no two
// units meet on one bank port in one cycle; the UB asserts it. The counters need no new term: a
// held mmc switch is weight_stall or weight_shift, a held rhm/whm input_stall, as before.
//
// Incomplete instructions per unit (each unit completes its instructions in issue order):
// host link and activation unit run one at a time (their busy bit); each MXU m counts its mmcs
// issued and not yet written back (gen_mxu[m].mxu_pend_q: +1 at issue, -1 when the accumulators'
// write port m writes an mmc's last row, mmc_done_i[m]); the weight link counts rws whose last
// tile has not arrived (w_pend_q: +1 at issue, -1 at that arrival, rw_done_i, which counts in its
// own cycle as the old all-tiles-arrived condition did). "Complete" = none incomplete.
//
// MXU sequencers (gen_mxu[m], one per MXU, independent: two MXUs inject in the same cycle):
// `mmc a, b, B` on MXU m injects row i in cycle t + i by addressing UB[a + i] for the UB's read
// port m (mxu_ub_re_o[m]: not for a chain mmc); the UB's read register and the
// valid/switch/chain/last/tag registers here present it to array m in t + i + 1 (mxu_last_o[m]
// marks row B - 1: its write-back completes the mmc).
//
// Counters (cycles [0, total_cycles), exactly one of the first four per cycle):
// array_active (any MXU injects a row), weight_stall (held by `mmc switch` whose tile has not
// arrived in its MXU's FIFO, or by an rw waiting for the weight DMA), weight_shift (held by
// `mmc switch`, tile arrived), non_matrix (otherwise); raw_stall (held by sync) and input_stall
// (held by rhm/whm) are subsets of non_matrix. An mmc with fan F counts as weight_stall while the
// tile of any of MXUs d .. d + F has not arrived. A held mmc that is not array_active has the
// inputs of its MXU and its followers' MXUs free (an MXU whose input is busy injects) and no other
// MXU's read window open (that MXU would inject), so it waits for their shadows or for a whm's
// read window (the bank interlock); where a shadow is empty the head of that MXU's FIFO is the
// tile it waits for, and a full one holds it (tile_arrived_i: weight_shift, as ISA.md counts a
// switch held once its tiles arrived).
`default_nettype none

module controller #(
  parameter integer ImemDepth  = 4096,
  parameter integer UbVectors  = 1024,
  parameter integer UbBanks    = 2,
  parameter integer AccEntries = 256,
  parameter integer Mxus       = 1,
  localparam integer ImemAddrBits = $clog2(ImemDepth),
  localparam integer UbAddrBits   = $clog2(UbVectors),
  localparam integer BankVecs     = (UbVectors + UbBanks - 1) / UbBanks,
  localparam integer Banks        = (UbVectors + BankVecs - 1) / BankVecs,
  localparam integer BankBits     = (Banks > 1) ? $clog2(Banks) : 1,
  localparam integer AccAddrBits  = $clog2(AccEntries),
  localparam integer MxuBits      = (Mxus > 1) ? $clog2(Mxus) : 1
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
  input  wire [Mxus-1:0]         shadow_full_i,   // per MXU (its weight_fifo)
  input  wire [Mxus-1:0]         tile_arrived_i,
  input  wire [Mxus-1:0]         mmc_done_i,      // per MXU (accumulators' write port m)
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
  output wire [MxuBits-1:0]      w_mxu_o,
  // MXUs: bit / field m drives MXU m
  output wire [Mxus-1:0]         switch_o,
  output wire [Mxus*UbAddrBits-1:0]  mxu_ub_addr_o,
  output wire [Mxus-1:0]         mxu_ub_re_o,     // MXU m reads UB[mxu_ub_addr_o field m]
  output wire [Mxus-1:0]         mxu_valid_o,
  output wire [Mxus-1:0]         mxu_switch_o,
  output wire [Mxus-1:0]         mxu_last_o,
  output wire [Mxus-1:0]         mxu_accumulate_o,
  output wire [Mxus-1:0]         mxu_chain_o,     // the row of mxu_valid_o[m] is a chain mmc's
  output wire [Mxus*AccAddrBits-1:0] mxu_acc_addr_o,
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

  wire unused_bd_imem_addr = ^bd_imem_addr_i[31:ImemAddrBits];

  // ---------------------------------------------------------------- front end
  reg [31:0]  pc_q;
  reg         if_valid_q;
  reg [31:0]  if_pc_q;
  // The instruction memory (a synchronous 1R1W memory, read-first, rtl/prim/prim_ram_1r1w.v):
  // its read register is the fetch register if_instr_q, loaded with the fetch (if_pc_q's word).
  wire [127:0] if_instr_q;
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
  // mmc: bit 2 chain (the rows are MXU d - 1's), bits [5:3] fan F (followers)
  wire        chain = flags[2];
  wire [2:0]  fan   = flags[5:3];

  // Encoding checks (sim/isa/ISA.md "Binary encoding"); a bad word stops the core with error_o.
  reg legal;
  always @* begin
    case (op)
      OpNop, OpHalt: legal = (flags == 8'd0) && (imm_d == 16'd0) && (fa == 32'd0) &&
                             (fb == 32'd0) && (fc == 32'd0);
      OpRhm, OpWhm:  legal = (flags == 8'd0) && (imm_d == 16'd0) && (fc != 32'd0);
      OpRw:          legal = (flags == 8'd0) && (imm_d < 16'(Mxus)) && (fb == 32'd0) &&
                             (fc != 32'd0);
      OpMmc:         legal = (flags[7:6] == 2'd0) && (imm_d < 16'(Mxus)) && (fc != 32'd0) &&
                             (!chain || ((imm_d != 16'd0) && (fan == 3'd0))) &&
                             ({1'b0, imm_d} + 17'(fan) < 17'(Mxus));
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
  reg  [15:0] w_pend_q;

  // mxu_hit[m]: the instruction under consideration names MXU m in field d (rw, mmc)
  wire [Mxus-1:0] mxu_hit;
  // mmc: MXU m is d + j for j = 0..F (its own or follower j's, mxu_in_fan), and can take its
  // rows: input free at t + j and, with switch, its shadow full (mxu_ready)
  wire [Mxus-1:0] mxu_in_fan, mxu_ready;
  // per MXU, from gen_mxu[m]: at most imm_d incomplete mmcs, none incomplete, injecting a row
  // this cycle
  wire [Mxus-1:0] mxu_within_d, mxu_idle, mxu_inject;

  wire host_done = !host_busy_i;
  wire act_done  = !act_busy_i;
  // incomplete instructions per unit, in sync mask bit order (the MXU bit: every MXU)
  wire [15:0] pend_host = {15'd0, host_busy_i};
  wire [15:0] pend_w    = w_pend_q - {15'd0, rw_done_i};
  wire [15:0] pend_act  = {15'd0, act_busy_i};
  // within_d[u]: unit u has at most imm_d incomplete; done[u]: none
  wire [3:0] within_d = {pend_act <= imm_d, &mxu_within_d, pend_w <= imm_d, pend_host <= imm_d};
  wire [3:0] done_mask = {pend_act == 16'd0, &mxu_idle, pend_w == 16'd0, pend_host == 16'd0};

  // mmc: its MXU and its followers' MXUs ready (d + F < Mxus: the decoder checked it)
  wire mmc_ready = &(~mxu_in_fan | mxu_ready);

  // ---------------------------------------------------------------- UB bank interlock
  // A vector's bank: rtl/unified_buffer.v's bank_of (prim/prim_bank_of.svh).
  localparam integer BankSize = BankVecs, NumBanks = Banks, BankAddrBits = UbAddrBits;
  localparam integer RowBits = (BankVecs > 1) ? $clog2(BankVecs) : 1;
`include "prim/prim_bank_of.svh"

  // The UB vectors of the instruction under consideration: an mmc's inputs a .. a + B - 1, an
  // rhm's / whm's b .. b + n - 1, an act's outputs b .. b + outputs - 1; their banks [ub_lo,
  // ub_hi]. (Other opcodes: unused.)
  wire [31:0] act_outputs = flags[4] ? {16'd0, imm_d} : (fc >> imm_d[2:0]);
  wire [31:0] ub_first    = (op == OpMmc) ? fa : fb;
  wire [31:0] ub_count    = (op == OpAct) ? act_outputs : fc;
  wire [31:0] ub_last     = ub_first + ub_count - 32'd1;
  wire [BankBits-1:0] ub_lo = bank_of(ub_first[UbAddrBits-1:0]);
  wire [BankBits-1:0] ub_hi = bank_of(ub_last[UbAddrBits-1:0]);
  wire unused_ub_last = ^{ub_first[31:UbAddrBits], ub_last[31:UbAddrBits]};

  // the other units' windows (registered at their issue) that are open and share a bank with
  // [ub_lo, ub_hi]; per MXU: mxu_rd_hit (gen_mxu)
  wire [Mxus-1:0] mxu_rd_hit;
  reg  [31:0] dma_rd_left_q, dma_wr_left_q;
  reg  [BankBits-1:0] dma_rd_lo_q, dma_rd_hi_q, dma_wr_lo_q, dma_wr_hi_q, act_wr_lo_q, act_wr_hi_q;
  wire dma_rd_hit = (dma_rd_left_q != 32'd0) && (ub_lo <= dma_rd_hi_q) && (dma_rd_lo_q <= ub_hi);
  wire dma_wr_hit = (dma_wr_left_q != 32'd0) && (ub_lo <= dma_wr_hi_q) && (dma_wr_lo_q <= ub_hi);
  wire act_wr_hit = act_busy_i && (ub_lo <= act_wr_hi_q) && (act_wr_lo_q <= ub_hi);
  // a non-chain mmc: no other MXU (~mxu_hit) and not the DMA reading one of its banks
  wire mmc_banks_free = chain || (!(|(mxu_rd_hit & ~mxu_hit)) && !dma_rd_hit);

  reg can_issue;
  always @* begin
    case (op)
      OpRhm:        can_issue = host_done && !act_wr_hit;
      OpWhm:        can_issue = host_done && !(|mxu_rd_hit);
      OpRw:         can_issue = w_free_i;
      OpMmc:        can_issue = mmc_ready && mmc_banks_free;
      OpAct:        can_issue = act_done && !dma_wr_hit;
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

  prim_ram_1r1w #(
    .Depth(ImemDepth),
    .Width(128)
  ) u_imem (
    .clk_i  (clk_i),
    .we_i   (bd_imem_we_i),
    .waddr_i(bd_imem_addr_i[ImemAddrBits-1:0]),
    .wdata_i(bd_imem_wdata_i),
    .re_i   (run && if_ready),
    .raddr_i(pc_q[ImemAddrBits-1:0]),
    .rdata_o(if_instr_q)
  );

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
  assign w_mxu_o   = imm_d[MxuBits-1:0];  // < Mxus: the decoder checked it

  assign switch_o = {Mxus{is_mmc && flags[1]}} & mxu_hit;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) w_pend_q <= 16'd0;
    else         w_pend_q <= w_pend_q + {15'd0, w_start_o} - {15'd0, rw_done_i};
  end

  // the bank windows of the DMA and the activation unit (the header's table)
  wire whm_start = host_start_o && (op == OpWhm);
  wire rhm_start = host_start_o && (op == OpRhm);
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dma_rd_left_q <= 32'd0;
      dma_wr_left_q <= 32'd0;
    end else begin
      if (whm_start) dma_rd_left_q <= fc - 32'd1;
      else if (dma_rd_left_q != 32'd0) dma_rd_left_q <= dma_rd_left_q - 32'd1;
      if (rhm_start) dma_wr_left_q <= fc;
      else if (dma_wr_left_q != 32'd0) dma_wr_left_q <= dma_wr_left_q - 32'd1;
    end
  end
  always @(posedge clk_i) begin
    if (whm_start) begin
      dma_rd_lo_q <= ub_lo;
      dma_rd_hi_q <= ub_hi;
    end
    if (rhm_start) begin
      dma_wr_lo_q <= ub_lo;
      dma_wr_hi_q <= ub_hi;
    end
    if (act_start_o) begin
      act_wr_lo_q <= ub_lo;
      act_wr_hi_q <= ub_hi;
    end
  end

  // MXU input sequencers, one per MXU
  genvar m;
  generate
    for (m = 0; m < Mxus; m = m + 1) begin : gen_mxu
      reg [31:0]            mx_left_q;
      reg [UbAddrBits-1:0]  mx_ub_q;
      reg [AccAddrBits-1:0] mx_acc_q;
      reg                   mx_accumulate_q, mx_chain_q;
      reg [15:0]            mxu_pend_q;
      reg                   mxu_valid_q, mxu_switch_q, mxu_last_q, mxu_accumulate_q, mxu_chain_q;
      reg [AccAddrBits-1:0] mxu_acc_addr_q;
      reg [BankBits-1:0]    mxu_rd_lo_q, mxu_rd_hi_q;  // the banks of its last mmc's inputs

      assign mxu_hit[m] = (imm_d == 16'(m));
      wire mx_start  = is_mmc && mxu_hit[m];
      wire mx_inject = mx_start || (mx_left_q != 32'd0);
      wire mx_chain  = mx_start ? chain : mx_chain_q;  // the mmc injecting now is a chain mmc

      // mmc under consideration: MXU m = MXU d + j; its input is free at t + j when it has at
      // most j rows left to inject (mx_left_q counts them, the current cycle's included)
      wire [15:0] fan_j = 16'(m) - imm_d;
      assign mxu_in_fan[m] = (imm_d <= 16'(m)) && (fan_j <= {13'd0, fan});
      assign mxu_ready[m]  = (mx_left_q <= {16'd0, fan_j}) && (shadow_full_i[m] || !flags[1]);

      assign mxu_within_d[m] = (mxu_pend_q <= imm_d);
      assign mxu_idle[m]     = (mxu_pend_q == 16'd0);
      assign mxu_inject[m]   = mx_inject;
      assign mxu_ub_addr_o[m*UbAddrBits +: UbAddrBits] = mx_start ? fa[UbAddrBits-1:0] : mx_ub_q;
      assign mxu_ub_re_o[m] = mx_inject && !mx_chain;
      // its read window is open while it injects the rows of a non-chain mmc (the issue cycle is
      // never under consideration again: the next instruction is)
      assign mxu_rd_hit[m] = (mx_left_q != 32'd0) && !mx_chain_q && (ub_lo <= mxu_rd_hi_q) &&
                             (mxu_rd_lo_q <= ub_hi);

      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          mx_left_q    <= 32'd0;
          mxu_valid_q  <= 1'b0;
          mxu_switch_q <= 1'b0;
          mxu_last_q   <= 1'b0;
          mxu_pend_q   <= 16'd0;
        end else begin
          if (mx_start) mx_left_q <= fc - 32'd1;
          else if (mx_left_q != 32'd0) mx_left_q <= mx_left_q - 32'd1;
          mxu_valid_q  <= mx_inject;
          mxu_switch_q <= switch_o[m];
          mxu_last_q   <= mx_start ? (fc == 32'd1) : (mx_left_q == 32'd1);
          mxu_pend_q   <= mxu_pend_q + {15'd0, mx_start} - {15'd0, mmc_done_i[m]};
        end
      end

      always @(posedge clk_i) begin
        if (mx_start) begin
          mx_ub_q         <= fa[UbAddrBits-1:0] + 1'b1;
          mx_acc_q        <= fb[AccAddrBits-1:0] + 1'b1;
          mx_accumulate_q <= flags[0];
          mx_chain_q      <= chain;
          mxu_rd_lo_q     <= ub_lo;
          mxu_rd_hi_q     <= ub_hi;
        end else if (mx_inject) begin
          mx_ub_q  <= mx_ub_q + 1'b1;
          mx_acc_q <= mx_acc_q + 1'b1;
        end
        mxu_acc_addr_q   <= mx_start ? fb[AccAddrBits-1:0] : mx_acc_q;
        mxu_accumulate_q <= mx_start ? flags[0] : mx_accumulate_q;
        mxu_chain_q      <= mx_chain;
      end

      assign mxu_valid_o[m]      = mxu_valid_q;
      assign mxu_switch_o[m]     = mxu_switch_q;
      assign mxu_last_o[m]       = mxu_last_q;
      assign mxu_accumulate_o[m] = mxu_accumulate_q;
      assign mxu_chain_o[m]      = mxu_chain_q;
      assign mxu_acc_addr_o[m*AccAddrBits +: AccAddrBits] = mxu_acc_addr_q;
    end
  endgenerate

  wire inject = |mxu_inject;  // some MXU injects a row this cycle

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
      end else if ((held_switch && |(mxu_in_fan & ~tile_arrived_i)) || (held && op == OpRw)) begin
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

`ifndef SYNTHESIS
  // A chain mmc is never held: its source issued only with this mmc's MXU ready one cycle later
  // (the issue condition of fan F), and nothing issues in between. Held, it would inject rows
  // that its source fed down the chain a cycle too early.
  always @(posedge clk_i) begin
    if (held && op == OpMmc)
      assert (!chain)
      else $error("controller: pc %0d: a chain mmc is held; its source did not wait for its MXU",
                  id_pc_q);
  end
`endif

endmodule

`default_nettype wire
