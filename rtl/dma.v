// dma: the chip's DMA engine for its two off-chip links. The memories and the links' timing
// are not on the chip: they sit behind two request interfaces, on the test-bench side
// (rtl/tb/host_memory.v, rtl/tb/weight_memory.v, wired by rtl/tb/tpu_system.v), as an SoC's
// DMA engine talks to a PCIe controller and a DRAM controller.
//
// Host link (rhm/whm). The issue cycle t sends one request (hl_req: write, first host vector,
// vectors n) on a valid/ready channel. rhm: the host side returns the n vectors on hl_rd, one
// per cycle in [t + 1, t + n] (a registered memory read), and the DMA writes each into the UB in
// the cycle it arrives. whm: the DMA reads the UB (a registered read, ub_re_o) at t + i and
// sends vector i on hl_wr in t + 1 + i. The unit is busy in [t, t + D) and free (complete) from
// t + D, where the host side raises hl_done_i: D = HostLatency + ceil(n * VecBytes * ClockMhz /
// HostBwMbS) (timing::host_transfer_cycles). The chip needs D >= n + 1, so that the data is in
// place before the unit completes: a host side with HostLatency >= 1 and HostBwMbS <= VecBytes *
// ClockMhz gives it (rtl/tb/host_memory.v checks its parameters at elaboration).
//
// Weight link (rw), one for every MXU. One tile request at a time, in rw order: tile j is
// requested (wl_req, the tile's first weight-memory row) in the first cycle r_j with a pending
// tile, the link ready (wl_req_ready_i: the previous tile's TileXferCycles have passed) and a
// free slot in the weight FIFO of the rw's MXU (w_mxu_i, latched at the rw's start; the other
// MXUs' FIFOs do not matter, and a tile waiting for its FIFO holds back every later tile). The
// request allocates that FIFO's slot (fifo_alloc_o[m]). The weight side returns the tile's rows
// on wl_rd, one per cycle in [r_j + 1, r_j + Rows]; the DMA writes each into that slot of that
// FIFO (fifo_wr_en_o[m]; address and data are shared). The weight side raises wl_arrive_i at
// a_j = r_j + TileXferCycles + WeightLatency (timing::weight_tile_transfer_cycles,
// timing::weight_memory_latency_cycles), tiles in request order, and the DMA passes the arrival
// to the tile's FIFO (fifo_arrive_o[m]); rw_done_o marks the arrival of an rw's last tile (the
// rw completes; rws complete in issue order). The chip needs TileXferCycles >= Rows, which keeps
// one tile's rows apart from the next's, and TileXferCycles + WeightLatency >= Rows + 1, which
// puts every row in its slot before the tile arrives (rtl/tb/weight_memory.v checks its
// parameters at elaboration; the chip knows nothing of the links' speed). Each tile in flight
// holds a FIFO slot, so at most Mxus * FifoTiles tiles are in flight.
//
// The interfaces' ready inputs are part of the timing contract (sim/isa/ISA.md): the host side
// takes a request in the cycle it is offered (the unit is idle then), and the weight side's
// ready is its link-idle state. The DMA asserts both.
`default_nettype none

module dma #(
  parameter integer Rows          = 4,
  parameter integer Cols          = 4,
  parameter integer VecBytes      = 4,
  parameter integer UbVectors     = 1024,
  parameter integer FifoTiles     = 4,
  parameter integer Mxus          = 1,
  localparam integer UbAddrBits   = $clog2(UbVectors),
  localparam integer SlotBits     = (FifoTiles > 1) ? $clog2(FifoTiles) : 1,
  localparam integer FifoAddrBits = $clog2(FifoTiles * Rows),
  localparam integer MxuBits      = (Mxus > 1) ? $clog2(Mxus) : 1
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // host link command (rhm: write_i = 0, whm: write_i = 1)
  input  wire                      host_start_i,
  input  wire                      host_write_i,
  input  wire [31:0]               host_addr_i,
  input  wire [31:0]               host_ub_addr_i,
  input  wire [31:0]               host_n_i,
  output wire                      host_busy_o,
  // unified buffer port (read registered: read enable and address in cycle t, data in t + 1)
  output wire                      ub_re_o,
  output wire                      ub_we_o,
  output wire [UbAddrBits-1:0]     ub_addr_o,
  output wire [VecBytes*8-1:0]     ub_wdata_o,
  input  wire [VecBytes*8-1:0]     ub_rdata_i,
  // weight link command
  input  wire                      w_start_i,
  input  wire [31:0]               w_tile_i,
  input  wire [31:0]               w_n_i,
  input  wire [MxuBits-1:0]        w_mxu_i,
  output wire                      w_free_o,
  output wire                      rw_done_o,
  // weight FIFOs, bit / field m: MXU m's
  input  wire [Mxus-1:0]           fifo_slot_free_i,
  input  wire [Mxus*SlotBits-1:0]  fifo_alloc_slot_i,
  output wire [Mxus-1:0]           fifo_alloc_o,
  output wire [Mxus-1:0]           fifo_wr_en_o,
  output wire [FifoAddrBits-1:0]   fifo_wr_addr_o,
  output wire [Cols*8-1:0]         fifo_wr_data_o,
  output wire [Mxus-1:0]           fifo_arrive_o,
  // host link interface (to the host side: rtl/tb/host_memory.v)
  output wire                      hl_req_valid_o,
  input  wire                      hl_req_ready_i,
  output wire                      hl_req_write_o,
  output wire [31:0]               hl_req_addr_o,
  output wire [31:0]               hl_req_len_o,
  input  wire                      hl_rd_valid_i,
  input  wire [VecBytes*8-1:0]     hl_rd_data_i,
  output wire                      hl_wr_valid_o,
  input  wire                      hl_wr_ready_i,
  output wire [VecBytes*8-1:0]     hl_wr_data_o,
  input  wire                      hl_done_i,
  // weight link interface (to the weight side: rtl/tb/weight_memory.v)
  output wire                      wl_req_valid_o,
  input  wire                      wl_req_ready_i,
  output wire [31:0]               wl_req_row_o,
  input  wire                      wl_rd_valid_i,
  input  wire [Cols*8-1:0]         wl_rd_data_i,
  input  wire                      wl_arrive_i
);

  localparam integer ArrDepth       = Mxus * FifoTiles;  // tiles in flight (each holds a slot)
  localparam integer ArrBits        = (ArrDepth > 1) ? $clog2(ArrDepth) : 1;

  // ================================================================ host link
  reg                   h_active_q;   // a transfer is in progress (until hl_done_i)
  reg [31:0]            rd_left_q;    // whm: UB reads still to issue
  reg [UbAddrBits-1:0]  rd_ub_q;      // whm: the next UB read address
  reg                   wr_beat_q;    // whm: the UB read of the last cycle goes out now
  reg [UbAddrBits-1:0]  wb_ub_q;      // rhm: the UB address of the next arriving vector

  assign host_busy_o = h_active_q && !hl_done_i;

  wire [31:0]           rd_left = host_start_i ? host_n_i : rd_left_q;
  wire                  rd_on   = (host_start_i ? host_write_i : 1'b1) && (rd_left != 32'd0);
  wire [UbAddrBits-1:0] rd_ub   = host_start_i ? host_ub_addr_i[UbAddrBits-1:0] : rd_ub_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      h_active_q <= 1'b0;
      rd_left_q  <= 32'd0;
      rd_ub_q    <= {UbAddrBits{1'b0}};
      wr_beat_q  <= 1'b0;
      wb_ub_q    <= {UbAddrBits{1'b0}};
    end else begin
      if (host_start_i)    h_active_q <= 1'b1;
      else if (hl_done_i)  h_active_q <= 1'b0;
      rd_left_q <= rd_on ? rd_left - 32'd1 : 32'd0;
      rd_ub_q   <= rd_ub + 1'b1;
      wr_beat_q <= rd_on;
      if (host_start_i)       wb_ub_q <= host_ub_addr_i[UbAddrBits-1:0];
      else if (hl_rd_valid_i) wb_ub_q <= wb_ub_q + 1'b1;
    end
  end
  wire unused_ub_addr = ^host_ub_addr_i[31:UbAddrBits];

  assign hl_req_valid_o = host_start_i;
  assign hl_req_write_o = host_write_i;
  assign hl_req_addr_o  = host_addr_i;
  assign hl_req_len_o   = host_n_i;
  assign hl_wr_valid_o  = wr_beat_q;
  assign hl_wr_data_o   = ub_rdata_i;

  // one UB port: rhm writes what arrives; whm reads UB[b + i] in cycle t + i, i < n (rhm's
  // vectors arrive after its issue cycle and a whm's reads end before it completes, so the two
  // never share a cycle). The read enable names the whm's read cycles only: the UB bank it
  // addresses is read in no other cycle (sim/isa/ISA.md, "UB banks").
  assign ub_re_o    = rd_on;
  assign ub_we_o    = hl_rd_valid_i;
  assign ub_addr_o  = hl_rd_valid_i ? wb_ub_q : rd_ub;
  assign ub_wdata_o = hl_rd_data_i;

  // ================================================================ weight link
  reg [31:0]             w_left_q, w_next_q;
  reg [MxuBits-1:0]      w_mxu_q;     // the MXU of the rw in progress
  reg [MxuBits-1:0]      copy_mxu_q;  // the FIFO the arriving rows go to
  reg [FifoAddrBits-1:0] copy_dst_q;  // the slot row the next arriving row goes to
  // tiles in flight, oldest at arr_rp_q: the FIFO each goes to, and whether it ends its rw
  reg [MxuBits-1:0]      arr_mxu_q [0:ArrDepth-1];
  reg [ArrDepth-1:0]     arr_last_q;
  reg [ArrBits-1:0]      arr_wp_q, arr_rp_q;

  wire               w_pending = w_start_i || (w_left_q != 32'd0);
  wire [31:0]        w_left    = w_start_i ? w_n_i    : w_left_q;
  wire [31:0]        w_tile    = w_start_i ? w_tile_i : w_next_q;
  wire [MxuBits-1:0] w_mxu     = w_start_i ? w_mxu_i  : w_mxu_q;
  // w_hit[m]: the rw in progress fills MXU m's FIFO; arr_hit[m]: the oldest tile in flight;
  // copy_hit[m]: the rows arriving now
  wire [Mxus-1:0]    w_hit, arr_hit, copy_hit;
  reg  [SlotBits-1:0] alloc_slot;  // the free slot of that FIFO
  wire               w_offer   = w_pending && |(w_hit & fifo_slot_free_i);
  wire               w_req     = w_offer && wl_req_ready_i;

  genvar m;
  generate
    for (m = 0; m < Mxus; m = m + 1) begin : gen_mxu
      assign w_hit[m]    = (w_mxu == MxuBits'(m));
      assign arr_hit[m]  = (arr_mxu_q[arr_rp_q] == MxuBits'(m));
      assign copy_hit[m] = (copy_mxu_q == MxuBits'(m));
    end
  endgenerate

  integer i, k;
  always @* begin
    alloc_slot = {SlotBits{1'b0}};
    for (k = 0; k < Mxus; k = k + 1)
      if (w_hit[k]) alloc_slot = fifo_alloc_slot_i[k*SlotBits +: SlotBits];
  end

  function automatic [ArrBits-1:0] next_arr(input [ArrBits-1:0] s);
    next_arr = (s == ArrBits'(ArrDepth - 1)) ? {ArrBits{1'b0}} : s + 1'b1;
  endfunction

  wire [FifoAddrBits-1:0] req_dst = FifoAddrBits'(alloc_slot * Rows);

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_left_q   <= 32'd0;
      w_next_q   <= 32'd0;
      w_mxu_q    <= {MxuBits{1'b0}};
      copy_mxu_q <= {MxuBits{1'b0}};
      copy_dst_q <= {FifoAddrBits{1'b0}};
      arr_last_q <= {ArrDepth{1'b0}};
      arr_wp_q   <= {ArrBits{1'b0}};
      arr_rp_q   <= {ArrBits{1'b0}};
      for (i = 0; i < ArrDepth; i = i + 1) arr_mxu_q[i] <= {MxuBits{1'b0}};
    end else begin
      w_left_q <= w_left - (w_req ? 32'd1 : 32'd0);
      w_next_q <= w_tile + (w_req ? 32'd1 : 32'd0);
      w_mxu_q  <= w_mxu;
      if (wl_arrive_i) arr_rp_q <= next_arr(arr_rp_q);
      if (w_req) begin
        arr_mxu_q[arr_wp_q]  <= w_mxu;
        arr_last_q[arr_wp_q] <= (w_left == 32'd1);
        arr_wp_q             <= next_arr(arr_wp_q);
        copy_mxu_q           <= w_mxu;
        copy_dst_q           <= req_dst;
      end else if (wl_rd_valid_i) begin
        copy_dst_q <= copy_dst_q + 1'b1;
      end
    end
  end

  assign w_free_o       = (w_left_q == 32'd0) && wl_req_ready_i;
  assign rw_done_o      = wl_arrive_i && arr_last_q[arr_rp_q];
  assign fifo_alloc_o   = {Mxus{w_req}} & w_hit;
  assign fifo_arrive_o  = {Mxus{wl_arrive_i}} & arr_hit;
  assign fifo_wr_en_o   = {Mxus{wl_rd_valid_i}} & copy_hit;
  assign fifo_wr_addr_o = copy_dst_q;
  assign fifo_wr_data_o = wl_rd_data_i;
  assign wl_req_valid_o = w_offer;
  assign wl_req_row_o   = w_tile * Rows;

`ifndef SYNTHESIS
  always @(posedge clk_i) begin
    if (rst_ni) begin
      // the interfaces' contract (see the header)
      if (hl_req_valid_o) assert (hl_req_ready_i) else $error("dma: host request not taken");
      if (hl_wr_valid_o) assert (hl_wr_ready_i) else $error("dma: host write not taken");
      // the data of a host transfer ends within its busy time
      if (hl_rd_valid_i || hl_wr_valid_o) assert (host_busy_o) else $error("dma: host data late");
    end
  end
`endif

endmodule

`default_nettype wire
