// tpu_top: the TPU chip. controller + Mxus matrix units (gen_mxu[m]: weight FIFO with
// ShiftPorts shift ports + systolic array) + accumulators + activation unit + unified buffer +
// DMA engine. Host memory, weight memory and the two links' timing are off the chip, behind the
// DMA's host link (hl_*) and weight link (wl_*) interfaces; the test bench's top,
// rtl/tb/tpu_system.v, connects them to rtl/tb/host_memory.v and rtl/tb/weight_memory.v.
//
// One controller, one weight DMA, one unified buffer (UbBanks banks of 1R1W memory, read by the
// MXUs and the DMA; the controller's bank interlock keeps two units off one bank port), one
// accumulator address space (a write port per MXU) and one activation unit serve
// every MXU; MXU m has its own weight FIFO, shadow/active weights and input sequencer (in the
// controller). Buses with one field per MXU are packed, MXU m at field m (bits [m*W +: W]).
//
// Chained inputs (sim/isa/ISA.md): MXU m >= 1 has a register, gen_mxu[m].gen_chain.chain_q,
// loaded every cycle with the row array m - 1 is fed (after MXU m - 1's own choice below). Array
// m is fed chain_q while the controller marks its row as a chain mmc's (mxu_chain[m]), else the
// UB's read data for MXU m. Follower j issues j cycles after its source, so it receives the
// source's row i in the cycle its own row i is due: the chain adds no cycle to an MXU's timing.
//
// All state a test bench needs crosses this boundary: the link interfaces, a back-door port to
// load the instruction memory; per-instruction issue events; done/error;
// the cycle counter, total_cycles and the six performance counters of sim/isa/ISA.md.
// Parameters come from the architecture preset (tpusim::load_config); see rtl/README.md.
`default_nettype none

module tpu_top #(
  parameter integer Rows           = 4,
  parameter integer Cols           = 4,
  parameter integer UbVectors      = 1024,
  parameter integer UbBanks        = 2,     // UB banks (unified_buffer)
  parameter integer AccEntries     = 256,
  parameter integer FifoTiles      = 4,
  parameter integer Mxus           = 1,
  parameter integer ShiftPorts     = 1,
  parameter integer BusRows        = 4,   // rows per weight-bus segment (systolic_array)
  parameter integer ImemDepth      = 4096,
  localparam integer VecBytes      = (Rows > Cols) ? Rows : Cols
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  // back door (test bench; use while the core is in reset or done)
  input  wire                  bd_imem_we_i,
  input  wire [31:0]           bd_imem_addr_i,
  input  wire [127:0]          bd_imem_wdata_i,
  // host link (rtl/dma.v)
  output wire                  hl_req_valid_o,
  input  wire                  hl_req_ready_i,
  output wire                  hl_req_write_o,
  output wire [31:0]           hl_req_addr_o,
  output wire [31:0]           hl_req_len_o,
  input  wire                  hl_rd_valid_i,
  input  wire [VecBytes*8-1:0] hl_rd_data_i,
  output wire                  hl_wr_valid_o,
  input  wire                  hl_wr_ready_i,
  output wire [VecBytes*8-1:0] hl_wr_data_o,
  input  wire                  hl_done_i,
  // weight link (rtl/dma.v)
  output wire                  wl_req_valid_o,
  input  wire                  wl_req_ready_i,
  output wire [31:0]           wl_req_row_o,
  input  wire                  wl_rd_valid_i,
  input  wire [Cols*8-1:0]     wl_rd_data_i,
  input  wire                  wl_arrive_i,
  // status
  output wire                  issue_valid_o,
  output wire [31:0]           issue_pc_o,
  output wire [7:0]            issue_opcode_o,
  output wire                  done_o,
  output wire                  error_o,
  output wire [63:0]           cycle_o,
  output wire [63:0]           total_cycles_o,
  output wire [63:0]           cnt_array_active_o,
  output wire [63:0]           cnt_weight_stall_o,
  output wire [63:0]           cnt_weight_shift_o,
  output wire [63:0]           cnt_non_matrix_o,
  output wire [63:0]           cnt_raw_stall_o,
  output wire [63:0]           cnt_input_stall_o,
  // observation (co-simulation, sim/engines/cosim): the unified-buffer writes of the DMA and
  // activation ports and every array's de-skewed result row (the accumulator write request of
  // MXU m, field m: tag = {last, accumulate, address}) of every cycle; address, tag and data
  // read zero when not writing. obs_fifo_arrive_o[m]: a weight tile arrives in MXU m's FIFO
  // (the weight DMA delivers at most one tile per cycle; the completion of an rw's tiles).
  output wire                       obs_dma_ub_we_o,
  output wire [31:0]                obs_dma_ub_addr_o,
  output wire [VecBytes*8-1:0]      obs_dma_ub_wdata_o,
  output wire                       obs_act_ub_we_o,
  output wire [31:0]                obs_act_ub_addr_o,
  output wire [VecBytes*8-1:0]      obs_act_ub_wdata_o,
  output wire [Mxus-1:0]            obs_psum_valid_o,
  output wire [Mxus*32-1:0]         obs_psum_tag_o,
  output wire [Mxus*Cols*32-1:0]    obs_psum_o,
  output wire [Mxus-1:0]            obs_fifo_arrive_o
);

  localparam integer UbAddrBits   = $clog2(UbVectors);
  localparam integer AccAddrBits  = $clog2(AccEntries);
  localparam integer SlotBits     = (FifoTiles > 1) ? $clog2(FifoTiles) : 1;
  localparam integer FifoAddrBits = $clog2(FifoTiles * Rows);
  localparam integer RowBits      = $clog2(Rows);
  localparam integer TagBits      = AccAddrBits + 2;  // {last, accumulate, address}
  localparam integer MxuBits      = (Mxus > 1) ? $clog2(Mxus) : 1;
  localparam integer Lanes        = ShiftPorts * Cols;  // weight buses into one array

  // controller <-> units
  wire                   host_busy, host_start, host_write;
  wire [31:0]            host_addr, host_ub_addr, host_n;
  wire                   w_free, rw_done, w_start;
  wire [31:0]            w_tile, w_n;
  wire [MxuBits-1:0]     w_mxu;
  wire [Mxus-1:0]        shadow_full, tile_arrived, switch_w;
  wire [Mxus-1:0]        mmc_done;
  wire                   act_busy;
  wire [Mxus*UbAddrBits-1:0]  mxu_ub_addr;
  wire [Mxus-1:0]        mxu_ub_re, mxu_chain;
  wire [Mxus-1:0]        mxu_valid, mxu_switch, mxu_last, mxu_accumulate;
  wire [Mxus*AccAddrBits-1:0] mxu_acc_addr;
  wire                   act_start;
  wire [31:0]            act_acc_addr, act_ub_addr, act_n, act_mult;
  wire [1:0]             act_function, act_pool, act_round;
  wire [2:0]             act_pool_log2;
  wire [5:0]             act_shift;
  wire                   act_pool2d;
  wire [15:0]            act_out_n;
  wire [31:0]            act_pool_in, act_pool_window, act_pool_pad;
  wire [24:0]            act_pool_recip;

  // datapath
  wire [Mxus*VecBytes*8-1:0] mxu_rdata;
  wire [Mxus*Rows*8-1:0] mxu_act;  // the row array m is fed, field m
  wire                   dma_ub_re, dma_ub_we;
  wire [UbAddrBits-1:0]  dma_ub_addr;
  wire [VecBytes*8-1:0]  dma_ub_wdata, dma_ub_rdata;
  wire                   act_ub_we;
  wire [UbAddrBits-1:0]  act_ub_addr_w;
  wire [VecBytes*8-1:0]  act_ub_wdata;
  wire [Mxus-1:0]        fifo_slot_free, fifo_alloc, fifo_wr_en, fifo_arrive;
  wire [Mxus*SlotBits-1:0] fifo_alloc_slot;
  wire [FifoAddrBits-1:0] fifo_wr_addr;
  wire [Cols*8-1:0]      fifo_wr_data;
  wire [Mxus-1:0]        psum_valid;
  wire [Mxus*TagBits-1:0] psum_tag;
  wire [Mxus*Cols*32-1:0] psum;
  wire [Mxus-1:0]        acc_wr_accumulate, acc_wr_last;
  wire [Mxus*AccAddrBits-1:0] acc_wr_addr;
  wire                   acc_rd_en;
  wire [AccAddrBits-1:0] acc_rd_addr;
  wire [Cols*32-1:0]     acc_rd_data;

  controller #(
    .ImemDepth  (ImemDepth),
    .UbVectors  (UbVectors),
    .UbBanks    (UbBanks),
    .AccEntries (AccEntries),
    .Mxus       (Mxus)
  ) u_controller (
    .clk_i              (clk_i),
    .rst_ni             (rst_ni),
    .bd_imem_we_i       (bd_imem_we_i),
    .bd_imem_addr_i     (bd_imem_addr_i),
    .bd_imem_wdata_i    (bd_imem_wdata_i),
    .host_busy_i        (host_busy),
    .w_free_i           (w_free),
    .rw_done_i          (rw_done),
    .shadow_full_i      (shadow_full),
    .tile_arrived_i     (tile_arrived),
    .mmc_done_i         (mmc_done),
    .act_busy_i         (act_busy),
    .host_start_o       (host_start),
    .host_write_o       (host_write),
    .host_addr_o        (host_addr),
    .host_ub_addr_o     (host_ub_addr),
    .host_n_o           (host_n),
    .w_start_o          (w_start),
    .w_tile_o           (w_tile),
    .w_n_o              (w_n),
    .w_mxu_o            (w_mxu),
    .switch_o           (switch_w),
    .mxu_ub_addr_o      (mxu_ub_addr),
    .mxu_ub_re_o        (mxu_ub_re),
    .mxu_valid_o        (mxu_valid),
    .mxu_switch_o       (mxu_switch),
    .mxu_last_o         (mxu_last),
    .mxu_accumulate_o   (mxu_accumulate),
    .mxu_chain_o        (mxu_chain),
    .mxu_acc_addr_o     (mxu_acc_addr),
    .act_start_o        (act_start),
    .act_acc_addr_o     (act_acc_addr),
    .act_ub_addr_o      (act_ub_addr),
    .act_n_o            (act_n),
    .act_function_o     (act_function),
    .act_pool_o         (act_pool),
    .act_pool_log2_o    (act_pool_log2),
    .act_mult_o         (act_mult),
    .act_shift_o        (act_shift),
    .act_round_o        (act_round),
    .act_pool2d_o       (act_pool2d),
    .act_out_n_o        (act_out_n),
    .act_pool_in_o      (act_pool_in),
    .act_pool_window_o  (act_pool_window),
    .act_pool_pad_o     (act_pool_pad),
    .act_pool_recip_o   (act_pool_recip),
    .issue_valid_o      (issue_valid_o),
    .issue_pc_o         (issue_pc_o),
    .issue_opcode_o     (issue_opcode_o),
    .done_o             (done_o),
    .error_o            (error_o),
    .cycle_o            (cycle_o),
    .total_cycles_o     (total_cycles_o),
    .cnt_array_active_o (cnt_array_active_o),
    .cnt_weight_stall_o (cnt_weight_stall_o),
    .cnt_weight_shift_o (cnt_weight_shift_o),
    .cnt_non_matrix_o   (cnt_non_matrix_o),
    .cnt_raw_stall_o    (cnt_raw_stall_o),
    .cnt_input_stall_o  (cnt_input_stall_o)
  );

  dma #(
    .Rows          (Rows),
    .Cols          (Cols),
    .VecBytes      (VecBytes),
    .UbVectors     (UbVectors),
    .FifoTiles     (FifoTiles),
    .Mxus          (Mxus)
  ) u_dma (
    .clk_i             (clk_i),
    .rst_ni            (rst_ni),
    .host_start_i      (host_start),
    .host_write_i      (host_write),
    .host_addr_i       (host_addr),
    .host_ub_addr_i    (host_ub_addr),
    .host_n_i          (host_n),
    .host_busy_o       (host_busy),
    .ub_re_o           (dma_ub_re),
    .ub_we_o           (dma_ub_we),
    .ub_addr_o         (dma_ub_addr),
    .ub_wdata_o        (dma_ub_wdata),
    .ub_rdata_i        (dma_ub_rdata),
    .w_start_i         (w_start),
    .w_tile_i          (w_tile),
    .w_n_i             (w_n),
    .w_mxu_i           (w_mxu),
    .w_free_o          (w_free),
    .rw_done_o         (rw_done),
    .fifo_slot_free_i  (fifo_slot_free),
    .fifo_alloc_slot_i (fifo_alloc_slot),
    .fifo_alloc_o      (fifo_alloc),
    .fifo_wr_en_o      (fifo_wr_en),
    .fifo_wr_addr_o    (fifo_wr_addr),
    .fifo_wr_data_o    (fifo_wr_data),
    .fifo_arrive_o     (fifo_arrive),
    .hl_req_valid_o    (hl_req_valid_o),
    .hl_req_ready_i    (hl_req_ready_i),
    .hl_req_write_o    (hl_req_write_o),
    .hl_req_addr_o     (hl_req_addr_o),
    .hl_req_len_o      (hl_req_len_o),
    .hl_rd_valid_i     (hl_rd_valid_i),
    .hl_rd_data_i      (hl_rd_data_i),
    .hl_wr_valid_o     (hl_wr_valid_o),
    .hl_wr_ready_i     (hl_wr_ready_i),
    .hl_wr_data_o      (hl_wr_data_o),
    .hl_done_i         (hl_done_i),
    .wl_req_valid_o    (wl_req_valid_o),
    .wl_req_ready_i    (wl_req_ready_i),
    .wl_req_row_o      (wl_req_row_o),
    .wl_rd_valid_i     (wl_rd_valid_i),
    .wl_rd_data_i      (wl_rd_data_i),
    .wl_arrive_i       (wl_arrive_i)
  );

  unified_buffer #(
    .UbVectors (UbVectors),
    .UbBanks   (UbBanks),
    .VecBytes  (VecBytes),
    .Mxus      (Mxus)
  ) u_unified_buffer (
    .clk_i       (clk_i),
    .mxu_re_i    (mxu_ub_re),
    .mxu_addr_i  (mxu_ub_addr),
    .mxu_rdata_o (mxu_rdata),
    .dma_re_i    (dma_ub_re),
    .dma_we_i    (dma_ub_we),
    .dma_addr_i  (dma_ub_addr),
    .dma_wdata_i (dma_ub_wdata),
    .dma_rdata_o (dma_ub_rdata),
    .act_we_i    (act_ub_we),
    .act_addr_i  (act_ub_addr_w),
    .act_wdata_i (act_ub_wdata)
  );

  // ---------------------------------------------------------------- matrix units
  genvar m;
  generate
    for (m = 0; m < Mxus; m = m + 1) begin : gen_mxu
      wire [Lanes-1:0]         weight_valid;
      wire [Lanes*RowBits-1:0] weight_sel;
      wire [Lanes*8-1:0]       weight;

      // array m's input row: the UB's, or a chain mmc's from MXU m - 1 (see the header)
      if (m == 0) begin : gen_first
        assign mxu_act[0 +: Rows*8] = mxu_rdata[0 +: Rows*8];
        wire unused_chain = mxu_chain[0];  // MXU 0 has no chain input (the decoder checks d)
      end else begin : gen_chain
        reg [Rows*8-1:0] chain_q;
        always @(posedge clk_i) chain_q <= mxu_act[(m-1)*Rows*8 +: Rows*8];
        assign mxu_act[m*Rows*8 +: Rows*8] =
            mxu_chain[m] ? chain_q : mxu_rdata[m*VecBytes*8 +: Rows*8];
      end

      weight_fifo #(
        .Rows       (Rows),
        .Cols       (Cols),
        .FifoTiles  (FifoTiles),
        .ShiftPorts (ShiftPorts),
        .BusRows    (BusRows)
      ) u_weight_fifo (
        .clk_i           (clk_i),
        .rst_ni          (rst_ni),
        .slot_free_o     (fifo_slot_free[m]),
        .alloc_slot_o    (fifo_alloc_slot[m*SlotBits +: SlotBits]),
        .alloc_i         (fifo_alloc[m]),
        .wr_en_i         (fifo_wr_en[m]),
        .wr_addr_i       (fifo_wr_addr),
        .wr_data_i       (fifo_wr_data),
        .arrive_i        (fifo_arrive[m]),
        .switch_i        (switch_w[m]),
        .shadow_full_o   (shadow_full[m]),
        .tile_arrived_o  (tile_arrived[m]),
        .weight_valid_o  (weight_valid),
        .weight_sel_o    (weight_sel),
        .weight_o        (weight)
      );

      systolic_array #(
        .Rows       (Rows),
        .Cols       (Cols),
        .TagBits    (TagBits),
        .ShiftPorts (ShiftPorts),
        .BusRows    (BusRows)
      ) u_systolic_array (
        .clk_i           (clk_i),
        .rst_ni          (rst_ni),
        .valid_i         (mxu_valid[m]),
        .switch_i        (mxu_switch[m]),
        .tag_i           ({mxu_last[m], mxu_accumulate[m],
                           mxu_acc_addr[m*AccAddrBits +: AccAddrBits]}),
        .act_i           (mxu_act[m*Rows*8 +: Rows*8]),
        .valid_o         (psum_valid[m]),
        .tag_o           (psum_tag[m*TagBits +: TagBits]),
        .psum_o          (psum[m*Cols*32 +: Cols*32]),
        .weight_valid_i  (weight_valid),
        .weight_sel_i    (weight_sel),
        .weight_i        (weight)
      );

      // accumulator write port m: {last, accumulate, address} of the tag
      assign acc_wr_accumulate[m] = psum_tag[m*TagBits + AccAddrBits];
      assign acc_wr_last[m]       = psum_tag[m*TagBits + AccAddrBits + 1];
      assign acc_wr_addr[m*AccAddrBits +: AccAddrBits] = psum_tag[m*TagBits +: AccAddrBits];

      assign obs_psum_tag_o[m*32 +: 32] = psum_valid[m] ? 32'(psum_tag[m*TagBits +: TagBits])
                                                        : 32'd0;
      assign obs_psum_o[m*Cols*32 +: Cols*32] = psum_valid[m] ? psum[m*Cols*32 +: Cols*32]
                                                              : {(Cols*32){1'b0}};
      if (VecBytes > Rows) begin : gen_unused_lanes
        wire unused_mxu_lanes = ^mxu_rdata[m*VecBytes*8+Rows*8 +: (VecBytes-Rows)*8];
      end
    end
  endgenerate

  accumulators #(
    .AccEntries (AccEntries),
    .Cols       (Cols),
    .Mxus       (Mxus)
  ) u_accumulators (
    .clk_i           (clk_i),
    .rst_ni          (rst_ni),
    .wr_valid_i      (psum_valid),
    .wr_accumulate_i (acc_wr_accumulate),
    .wr_last_i       (acc_wr_last),
    .wr_addr_i       (acc_wr_addr),
    .wr_data_i       (psum),
    .mmc_done_o      (mmc_done),
    .rd_en_i         (acc_rd_en),
    .rd_addr_i       (acc_rd_addr),
    .rd_data_o       (acc_rd_data)
  );

  activation_unit #(
    .Cols       (Cols),
    .VecBytes   (VecBytes),
    .AccEntries (AccEntries),
    .UbVectors  (UbVectors)
  ) u_activation_unit (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .start_i       (act_start),
    .acc_addr_i    (act_acc_addr),
    .ub_addr_i     (act_ub_addr),
    .n_i           (act_n),
    .function_i    (act_function),
    .pool_i        (act_pool),
    .pool_log2_i   (act_pool_log2),
    .pool2d_i      (act_pool2d),
    .out_n_i       (act_out_n),
    .pool_in_i     (act_pool_in),
    .pool_window_i (act_pool_window),
    .pool_pad_i    (act_pool_pad),
    .pool_recip_i  (act_pool_recip),
    .mult_i        (act_mult),
    .shift_i       (act_shift),
    .round_i       (act_round),
    .busy_o        (act_busy),
    .acc_rd_en_o   (acc_rd_en),
    .acc_rd_addr_o (acc_rd_addr),
    .acc_rd_data_i (acc_rd_data),
    .ub_we_o       (act_ub_we),
    .ub_addr_o     (act_ub_addr_w),
    .ub_wdata_o    (act_ub_wdata)
  );

  assign obs_dma_ub_we_o    = dma_ub_we;
  assign obs_dma_ub_addr_o  = dma_ub_we ? 32'(dma_ub_addr) : 32'd0;
  assign obs_dma_ub_wdata_o = dma_ub_we ? dma_ub_wdata : {(VecBytes*8){1'b0}};
  assign obs_act_ub_we_o    = act_ub_we;
  assign obs_act_ub_addr_o  = act_ub_we ? 32'(act_ub_addr_w) : 32'd0;
  assign obs_act_ub_wdata_o = act_ub_we ? act_ub_wdata : {(VecBytes*8){1'b0}};
  assign obs_psum_valid_o   = psum_valid;
  assign obs_fifo_arrive_o  = fifo_arrive;

`ifndef SYNTHESIS
  // the ranges of the config loader (models/limits.h); ports beyond Rows would never all be busy
  initial begin
    assert (Mxus >= 1 && Mxus <= 8) else $error("tpu_top: Mxus must be 1..8");
    assert (UbBanks >= 1 && UbBanks <= UbVectors)
      else $error("tpu_top: UbBanks must be 1..UbVectors");
    assert (ShiftPorts >= 1 && ShiftPorts <= 8 && ShiftPorts <= Rows)
      else $error("tpu_top: ShiftPorts must be 1..8 and at most Rows");
    assert (BusRows >= 1 && BusRows <= Rows) else $error("tpu_top: BusRows must be 1..Rows");
  end
`endif

endmodule

`default_nettype wire
