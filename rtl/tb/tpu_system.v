// tpu_system: the test bench's top (not part of the chip): the chip (tpu_top) with its off-chip
// world, host memory and the host link (host_memory) and weight memory and the weight link
// (weight_memory). Its ports are what the test benches drive and watch: the chip's, with the
// host and weight memories' back doors in place of the link interfaces. Verilator builds this
// module (rtl/CMakeLists.txt); yosys synthesizes tpu_top (scripts/yosys_chip.py).
`default_nettype none

module tpu_system #(
  parameter integer Rows           = 4,
  parameter integer Cols           = 4,
  parameter integer UbVectors      = 1024,
  parameter integer UbBanks        = 2,     // UB banks (unified_buffer)
  parameter integer AccEntries     = 256,
  parameter integer FifoTiles      = 4,
  parameter integer Mxus           = 1,
  parameter integer ShiftPorts     = 1,
  parameter integer BusRows        = 4,   // rows per weight-bus segment (systolic_array)
  parameter integer HostVectors    = 4096,
  parameter integer WeightTiles    = 4096,
  parameter integer ImemDepth      = 4096,
  parameter integer ClockMhz       = 700,
  parameter integer HostBwMbS      = 2800,
  parameter integer HostLatency    = 4,
  parameter integer WeightBwMbS    = 1400,
  parameter integer WeightLatency  = 8,
  localparam integer VecBytes      = (Rows > Cols) ? Rows : Cols
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  // back door (test bench; use while the core is in reset or done)
  input  wire                  bd_imem_we_i,
  input  wire [31:0]           bd_imem_addr_i,
  input  wire [127:0]          bd_imem_wdata_i,
  input  wire                  bd_host_we_i,
  input  wire [31:0]           bd_host_addr_i,
  input  wire [VecBytes*8-1:0] bd_host_wdata_i,
  output wire [VecBytes*8-1:0] bd_host_rdata_o,
  input  wire                  bd_wmem_we_i,
  input  wire [31:0]           bd_wmem_addr_i,
  input  wire [Cols*8-1:0]     bd_wmem_wdata_i,
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


  localparam integer MxusFifoTiles = Mxus * FifoTiles;

  wire                  hl_req_valid, hl_req_ready, hl_req_write, hl_rd_valid, hl_wr_valid;
  wire                  hl_wr_ready, hl_done;
  wire [31:0]           hl_req_addr, hl_req_len;
  wire [VecBytes*8-1:0] hl_rd_data, hl_wr_data;
  wire                  wl_req_valid, wl_req_ready, wl_rd_valid, wl_arrive;
  wire [31:0]           wl_req_row;
  wire [Cols*8-1:0]     wl_rd_data;

  tpu_top #(
    .Rows          (Rows),
    .Cols          (Cols),
    .UbVectors     (UbVectors),
    .UbBanks       (UbBanks),
    .AccEntries    (AccEntries),
    .FifoTiles     (FifoTiles),
    .Mxus          (Mxus),
    .ShiftPorts    (ShiftPorts),
    .BusRows       (BusRows),
    .ImemDepth     (ImemDepth)
  ) u_chip (
    .clk_i              (clk_i),
    .rst_ni             (rst_ni),
    .bd_imem_we_i       (bd_imem_we_i),
    .bd_imem_addr_i     (bd_imem_addr_i),
    .bd_imem_wdata_i    (bd_imem_wdata_i),
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
    .cnt_input_stall_o  (cnt_input_stall_o),
    .obs_dma_ub_we_o    (obs_dma_ub_we_o),
    .obs_dma_ub_addr_o  (obs_dma_ub_addr_o),
    .obs_dma_ub_wdata_o (obs_dma_ub_wdata_o),
    .obs_act_ub_we_o    (obs_act_ub_we_o),
    .obs_act_ub_addr_o  (obs_act_ub_addr_o),
    .obs_act_ub_wdata_o (obs_act_ub_wdata_o),
    .obs_psum_valid_o   (obs_psum_valid_o),
    .obs_psum_tag_o     (obs_psum_tag_o),
    .obs_psum_o         (obs_psum_o),
    .obs_fifo_arrive_o  (obs_fifo_arrive_o),
    .hl_req_valid_o     (hl_req_valid),
    .hl_req_ready_i     (hl_req_ready),
    .hl_req_write_o     (hl_req_write),
    .hl_req_addr_o      (hl_req_addr),
    .hl_req_len_o       (hl_req_len),
    .hl_rd_valid_i      (hl_rd_valid),
    .hl_rd_data_i       (hl_rd_data),
    .hl_wr_valid_o      (hl_wr_valid),
    .hl_wr_ready_i      (hl_wr_ready),
    .hl_wr_data_o       (hl_wr_data),
    .hl_done_i          (hl_done),
    .wl_req_valid_o     (wl_req_valid),
    .wl_req_ready_i     (wl_req_ready),
    .wl_req_row_o       (wl_req_row),
    .wl_rd_valid_i      (wl_rd_valid),
    .wl_rd_data_i       (wl_rd_data),
    .wl_arrive_i        (wl_arrive)
  );

  host_memory #(
    .VecBytes    (VecBytes),
    .HostVectors (HostVectors),
    .ClockMhz    (ClockMhz),
    .HostBwMbS   (HostBwMbS),
    .HostLatency (HostLatency)
  ) u_host_memory (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .hl_req_valid_i (hl_req_valid),
    .hl_req_ready_o (hl_req_ready),
    .hl_req_write_i (hl_req_write),
    .hl_req_addr_i  (hl_req_addr),
    .hl_req_len_i   (hl_req_len),
    .hl_rd_valid_o  (hl_rd_valid),
    .hl_rd_data_o   (hl_rd_data),
    .hl_wr_valid_i  (hl_wr_valid),
    .hl_wr_ready_o  (hl_wr_ready),
    .hl_wr_data_i   (hl_wr_data),
    .hl_done_o      (hl_done),
    .bd_we_i        (bd_host_we_i),
    .bd_addr_i      (bd_host_addr_i),
    .bd_wdata_i     (bd_host_wdata_i),
    .bd_rdata_o     (bd_host_rdata_o)
  );

  weight_memory #(
    .Rows          (Rows),
    .Cols          (Cols),
    .WeightTiles   (WeightTiles),
    .Depth         (MxusFifoTiles),
    .ClockMhz      (ClockMhz),
    .WeightBwMbS   (WeightBwMbS),
    .WeightLatency (WeightLatency)
  ) u_weight_memory (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .wl_req_valid_i (wl_req_valid),
    .wl_req_ready_o (wl_req_ready),
    .wl_req_row_i   (wl_req_row),
    .wl_rd_valid_o  (wl_rd_valid),
    .wl_rd_data_o   (wl_rd_data),
    .wl_arrive_o    (wl_arrive),
    .bd_we_i        (bd_wmem_we_i),
    .bd_addr_i      (bd_wmem_addr_i),
    .bd_wdata_i     (bd_wmem_wdata_i)
  );

endmodule

`default_nettype wire
