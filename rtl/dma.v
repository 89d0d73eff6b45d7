// dma: the two off-chip links and the memories behind them.
//
// Host link (rhm/whm). Busy time D = HostLatency + ceil(n * VecBytes * ClockMhz / HostBwMbS)
// (timing::host_transfer_cycles), computed without a divider: after HostLatency cycles a
// credit counter adds HostBwMbS per cycle until it reaches bytes * ClockMhz. The unit is busy in
// [t, t + D) and free (complete) from t + D. Data moves one vector per cycle in [t, t + n);
// this needs HostBwMbS <= VecBytes * ClockMhz (at most one vector per cycle on the link),
// checked at elaboration, so the data is in place before the unit completes.
//
// Weight link (rw), one for every MXU. One tile request at a time, in rw order: tile j is
// requested at the first cycle with a pending tile, the link idle (r_{j-1} + TileXferCycles) and
// a free slot in the weight FIFO of the rw's MXU (w_mxu_i, latched at the rw's start; the other
// MXUs' FIFOs do not matter, and a tile waiting for its FIFO holds back every later tile). The
// request allocates that FIFO's slot (fifo_alloc_o[m]), the copy writes only that FIFO
// (fifo_wr_en_o[m]; address and data are shared) and the arrival goes to it (fifo_arrive_o[m]).
// The link stays occupied TileXferCycles = ceil(Rows * Cols * ClockMhz / WeightBwMbS)
// (timing::weight_tile_transfer_cycles, a constant of the configuration, so computed at
// elaboration) and the tile arrives WeightLatency cycles later
// (timing::weight_memory_latency_cycles): a_j = r_j + TileXferCycles + WeightLatency. Rows are
// copied into the FIFO slot one per cycle in [r_j, r_j + Rows); TileXferCycles >= Rows is
// checked at elaboration. The unit accepts the next rw when no tile is pending and the link is
// idle; rw_done_o marks the arrival of an rw's last tile (the rw completes; tiles arrive in
// request order, so rws complete in issue order). Each tile in flight holds a FIFO slot, so at
// most Mxus * FifoTiles arrival countdowns run at once.
//
// Memories: host memory (HostVectors x VecBytes) and weight memory (WeightTiles tiles, stored
// as rows of Cols bytes, element (r, c) of tile t at row t*Rows + r, lane c) are behavioural
// arrays with a back-door port for the test bench (used while the core is idle).
`default_nettype none

module dma #(
  parameter integer Rows          = 4,
  parameter integer Cols          = 4,
  parameter integer VecBytes      = 4,
  parameter integer UbVectors     = 1024,
  parameter integer FifoTiles     = 4,
  parameter integer Mxus          = 1,
  parameter integer HostVectors   = 4096,
  parameter integer WeightTiles   = 4096,
  parameter integer ClockMhz      = 700,
  parameter integer HostBwMbS     = 2800,
  parameter integer HostLatency   = 4,
  parameter integer WeightBwMbS   = 1400,
  parameter integer WeightLatency = 8,
  localparam integer UbAddrBits   = $clog2(UbVectors),
  localparam integer HostAddrBits = $clog2(HostVectors),
  localparam integer WmAddrBits   = $clog2(WeightTiles * Rows),
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
  // unified buffer port
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
  // test-bench back door
  input  wire                      bd_host_we_i,
  input  wire [31:0]               bd_host_addr_i,
  input  wire [VecBytes*8-1:0]     bd_host_wdata_i,
  output wire [VecBytes*8-1:0]     bd_host_rdata_o,
  input  wire                      bd_wmem_we_i,
  input  wire [31:0]               bd_wmem_addr_i,
  input  wire [Cols*8-1:0]         bd_wmem_wdata_i
);

  // ceil(tile bytes * clock / bandwidth), at least 1 (timing::transfer_cycles).
  // 64-bit arithmetic (a 256 x 256 tile at GHz clocks passes 2^32) without `longint`, which
  // yosys's Verilog front end does not take.
  localparam [63:0]  TileNum        = 64'(Rows) * 64'(Cols) * 64'(ClockMhz);
  localparam [63:0]  TileXferRaw    = (TileNum + 64'(WeightBwMbS) - 64'd1) / 64'(WeightBwMbS);
  localparam integer TileXferCycles = (TileXferRaw < 64'd1) ? 1 : 32'(TileXferRaw);
  localparam integer ArriveCycles   = TileXferCycles + WeightLatency;
  localparam integer RowCntBits     = $clog2(Rows + 1);
  localparam integer ArrDepth       = Mxus * FifoTiles;  // tiles in flight (each holds a slot)
  localparam integer ArrBits        = (ArrDepth > 1) ? $clog2(ArrDepth) : 1;

  reg [VecBytes*8-1:0] host_mem   [0:HostVectors-1];
  reg [Cols*8-1:0]     weight_mem [0:WeightTiles*Rows-1];

  // ================================================================ host link
  reg         h_active_q;
  reg [31:0]  h_lat_q;
  reg [63:0]  h_credit_q, h_target_q;
  reg [31:0]  mv_left_q, mv_host_q, mv_ub_q;
  reg         mv_write_q;

  wire h_done = (h_lat_q == 32'd0) && (h_credit_q >= h_target_q);
  assign host_busy_o = h_active_q && !h_done;

  wire        mv_on    = host_start_i || (mv_left_q != 32'd0);
  wire        mv_write = host_start_i ? host_write_i   : mv_write_q;
  wire [31:0] mv_host  = host_start_i ? host_addr_i    : mv_host_q;
  wire [31:0] mv_ub    = host_start_i ? host_ub_addr_i : mv_ub_q;
  wire [31:0] mv_left  = host_start_i ? host_n_i       : mv_left_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      h_active_q <= 1'b0;
      h_lat_q    <= 32'd0;
      h_credit_q <= 64'd0;
      h_target_q <= 64'd0;
      mv_left_q  <= 32'd0;
      mv_host_q  <= 32'd0;
      mv_ub_q    <= 32'd0;
      mv_write_q <= 1'b0;
    end else begin
      if (host_start_i) begin
        // The issue cycle is the first busy cycle: apply its step right away.
        h_active_q <= 1'b1;
        h_target_q <= 64'(host_n_i) * 64'(VecBytes) * 64'(ClockMhz);
        if (HostLatency != 0) begin
          h_lat_q    <= 32'(HostLatency - 1);
          h_credit_q <= 64'd0;
        end else begin
          h_lat_q    <= 32'd0;
          h_credit_q <= 64'(HostBwMbS);
        end
      end else if (h_active_q) begin
        if (h_done) begin
          h_active_q <= 1'b0;
        end else if (h_lat_q != 32'd0) begin
          h_lat_q <= h_lat_q - 1;
        end else begin
          h_credit_q <= h_credit_q + 64'(HostBwMbS);
        end
      end
      mv_left_q  <= mv_left - (mv_on ? 32'd1 : 32'd0);
      mv_host_q  <= mv_host + 32'd1;
      mv_ub_q    <= mv_ub + 32'd1;
      mv_write_q <= mv_write;
    end
  end

  assign ub_we_o    = mv_on && !mv_write;
  assign ub_addr_o  = mv_ub[UbAddrBits-1:0];
  assign ub_wdata_o = host_mem[mv_host[HostAddrBits-1:0]];

  always @(posedge clk_i) begin
    if (mv_on && mv_write) host_mem[mv_host[HostAddrBits-1:0]] <= ub_rdata_i;
    if (bd_host_we_i) host_mem[bd_host_addr_i[HostAddrBits-1:0]] <= bd_host_wdata_i;
  end
  wire unused_bd_addr = ^{bd_host_addr_i[31:HostAddrBits], bd_wmem_addr_i[31:WmAddrBits]};
  assign bd_host_rdata_o = host_mem[bd_host_addr_i[HostAddrBits-1:0]];

  // ================================================================ weight link
  reg [31:0]             w_left_q, w_next_q;
  reg [MxuBits-1:0]      w_mxu_q;     // the MXU of the rw in progress
  reg [31:0]             link_q;
  reg [RowCntBits-1:0]   copy_left_q;
  reg [WmAddrBits-1:0]   copy_src_q;
  reg [FifoAddrBits-1:0] copy_dst_q;
  // arrival countdowns, one per tile in flight, oldest at arr_rp_q
  reg [31:0]             arr_cnt_q   [0:ArrDepth-1];
  reg [MxuBits-1:0]      arr_mxu_q   [0:ArrDepth-1];  // the FIFO the tile goes to
  reg [ArrDepth-1:0]     arr_valid_q;
  reg [ArrDepth-1:0]     arr_last_q;   // the tile is the last of its rw
  reg [ArrDepth-1:0]     arr_zero_q;   // its countdown is 0 (kept beside the counter so that
                                       // the arrival is a one-bit select, not a 32-bit compare)
  reg [ArrBits-1:0]      arr_wp_q, arr_rp_q;

  wire               w_pending = w_start_i || (w_left_q != 32'd0);
  wire [31:0]        w_left    = w_start_i ? w_n_i    : w_left_q;
  wire [31:0]        w_tile    = w_start_i ? w_tile_i : w_next_q;
  wire [MxuBits-1:0] w_mxu     = w_start_i ? w_mxu_i  : w_mxu_q;
  // w_hit[m]: the rw in progress fills MXU m's FIFO; arr_hit[m]: the oldest tile in flight
  wire [Mxus-1:0]    w_hit, arr_hit;
  reg  [SlotBits-1:0] alloc_slot;  // the free slot of that FIFO
  wire               w_req     = w_pending && (link_q == 32'd0) && |(w_hit & fifo_slot_free_i);
  wire               arrive    = arr_valid_q[arr_rp_q] && arr_zero_q[arr_rp_q];

  genvar m;
  generate
    for (m = 0; m < Mxus; m = m + 1) begin : gen_mxu
      assign w_hit[m]   = (w_mxu == MxuBits'(m));
      assign arr_hit[m] = (arr_mxu_q[arr_rp_q] == MxuBits'(m));
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

  wire [WmAddrBits-1:0]   req_src = WmAddrBits'(w_tile * Rows);
  wire [FifoAddrBits-1:0] req_dst = FifoAddrBits'(alloc_slot * Rows);

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_left_q    <= 32'd0;
      w_next_q    <= 32'd0;
      w_mxu_q     <= {MxuBits{1'b0}};
      link_q      <= 32'd0;
      copy_left_q <= {RowCntBits{1'b0}};
      copy_src_q  <= {WmAddrBits{1'b0}};
      copy_dst_q  <= {FifoAddrBits{1'b0}};
      arr_valid_q <= {ArrDepth{1'b0}};
      arr_last_q  <= {ArrDepth{1'b0}};
      arr_zero_q  <= {ArrDepth{1'b0}};
      arr_wp_q    <= {ArrBits{1'b0}};
      arr_rp_q    <= {ArrBits{1'b0}};
      for (i = 0; i < ArrDepth; i = i + 1) begin
        arr_cnt_q[i] <= 32'd0;
        arr_mxu_q[i] <= {MxuBits{1'b0}};
      end
    end else begin
      w_left_q <= w_left - (w_req ? 32'd1 : 32'd0);
      w_next_q <= w_tile + (w_req ? 32'd1 : 32'd0);
      w_mxu_q  <= w_mxu;
      for (i = 0; i < ArrDepth; i = i + 1)
        if (arr_valid_q[i] && !arr_zero_q[i]) begin
          arr_cnt_q[i]  <= arr_cnt_q[i] - 1;
          arr_zero_q[i] <= (arr_cnt_q[i] == 32'd1);
        end
      if (arrive) begin
        arr_valid_q[arr_rp_q] <= 1'b0;
        arr_rp_q              <= next_arr(arr_rp_q);
      end
      if (w_req) begin
        link_q                <= 32'(TileXferCycles - 1);
        arr_cnt_q[arr_wp_q]   <= 32'(ArriveCycles - 1);
        arr_zero_q[arr_wp_q]  <= (ArriveCycles == 1);
        arr_mxu_q[arr_wp_q]   <= w_mxu;
        arr_valid_q[arr_wp_q] <= 1'b1;
        arr_last_q[arr_wp_q]  <= (w_left == 32'd1);
        arr_wp_q              <= next_arr(arr_wp_q);
        copy_left_q           <= RowCntBits'(Rows - 1);
        copy_src_q            <= req_src + 1'b1;
        copy_dst_q            <= req_dst + 1'b1;
      end else begin
        if (link_q != 32'd0) link_q <= link_q - 1;
        if (copy_left_q != 0) begin
          copy_left_q <= copy_left_q - 1'b1;
          copy_src_q  <= copy_src_q + 1'b1;
          copy_dst_q  <= copy_dst_q + 1'b1;
        end
      end
    end
  end

  // The copy of a tile ends before the link is free (TileXferCycles >= Rows), so no rw starts
  // during a copy and w_mxu still names the FIFO being filled.
  wire copying = w_req || (copy_left_q != 0);

  assign w_free_o       = (w_left_q == 32'd0) && (link_q == 32'd0);
  assign rw_done_o      = arrive && arr_last_q[arr_rp_q];
  assign fifo_alloc_o   = {Mxus{w_req}} & w_hit;
  assign fifo_arrive_o  = {Mxus{arrive}} & arr_hit;
  assign fifo_wr_en_o   = {Mxus{copying}} & w_hit;
  assign fifo_wr_addr_o = w_req ? req_dst : copy_dst_q;
  assign fifo_wr_data_o = weight_mem[w_req ? req_src : copy_src_q];

  always @(posedge clk_i) begin
    if (bd_wmem_we_i) weight_mem[bd_wmem_addr_i[WmAddrBits-1:0]] <= bd_wmem_wdata_i;
  end

`ifndef SYNTHESIS
  initial begin
    assert (longint'(HostBwMbS) <= longint'(VecBytes) * longint'(ClockMhz))
      else $error("dma: host link faster than one vector per cycle is not supported");
    assert (TileXferCycles >= Rows)
      else $error("dma: weight link faster than one tile row per cycle is not supported");
  end
  always @(posedge clk_i) begin
    // the data movement of a host transfer ends within its busy time
    if (rst_ni && mv_left_q != 32'd0) assert (host_busy_o) else $error("dma: host data late");
  end
`endif

endmodule

`default_nettype wire
