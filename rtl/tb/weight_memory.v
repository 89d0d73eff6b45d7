// weight_memory: the test bench's weight side of the weight link (not part of the chip): weight
// memory (WeightTiles tiles stored as rows of Cols bytes, element (r, c) of tile t at row
// t * Rows + r, lane c) and the link's timing, behind the DMA's weight link interface
// (rtl/dma.v).
//
// A tile request (its first row) is taken in the cycle it is offered, r, when the link is idle
// (wl_req_ready_o). The link then stays occupied TileXferCycles = ceil(Rows * Cols * ClockMhz /
// WeightBwMbS) cycles (timing::weight_tile_transfer_cycles). The tile's Rows rows go out on wl_rd,
// one per cycle in [r + 1, r + Rows] (a registered read), and wl_arrive_o rises at
// r + TileXferCycles + WeightLatency (timing::weight_memory_latency_cycles), tiles in request
// order; at most Depth tiles are in flight (the DMA's FIFO slots bound them). The back door loads
// weight memory while the core is idle.
`default_nettype none

module weight_memory #(
  parameter integer Rows          = 4,
  parameter integer Cols          = 4,
  parameter integer WeightTiles   = 4096,
  parameter integer Depth         = 4,
  parameter integer ClockMhz      = 700,
  parameter integer WeightBwMbS   = 1400,
  parameter integer WeightLatency = 8,
  localparam integer AddrBits     = $clog2(WeightTiles * Rows)
) (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               wl_req_valid_i,
  output wire               wl_req_ready_o,
  input  wire [31:0]        wl_req_row_i,
  output reg                wl_rd_valid_o,
  output reg  [Cols*8-1:0]  wl_rd_data_o,
  output wire               wl_arrive_o,
  input  wire               bd_we_i,
  input  wire [31:0]        bd_addr_i,
  input  wire [Cols*8-1:0]  bd_wdata_i
);

  // ceil(tile bytes * clock / bandwidth), at least 1 (timing::transfer_cycles), in 64-bit
  // arithmetic (a 256 x 256 tile at GHz clocks passes 2^32) without `longint`, which yosys's
  // Verilog front end does not take
  localparam [63:0]  TileNum        = 64'(Rows) * 64'(Cols) * 64'(ClockMhz);
  localparam [63:0]  TileXferRaw    = (TileNum + 64'(WeightBwMbS) - 64'd1) / 64'(WeightBwMbS);
  localparam integer TileXferCycles = (TileXferRaw < 64'd1) ? 1 : 32'(TileXferRaw);
  localparam integer ArriveCycles   = TileXferCycles + WeightLatency;
  localparam integer RowCntBits     = $clog2(Rows + 1);
  localparam integer ArrBits        = (Depth > 1) ? $clog2(Depth) : 1;

  reg [Cols*8-1:0] mem [0:WeightTiles*Rows-1];

  reg [31:0]           link_q;
  reg [RowCntBits-1:0] rd_left_q;
  reg [AddrBits-1:0]   rd_row_q;
  // arrival countdowns, one per tile in flight, oldest at rp_q
  reg [31:0]           cnt_q  [0:Depth-1];
  reg [Depth-1:0]      valid_q;
  reg [Depth-1:0]      zero_q;   // its countdown is 0 (a one-bit select, not a 32-bit compare)
  reg [ArrBits-1:0]    wp_q, rp_q;

  wire take = wl_req_valid_i && wl_req_ready_o;
  assign wl_req_ready_o = (link_q == 32'd0);
  assign wl_arrive_o    = valid_q[rp_q] && zero_q[rp_q];

  wire                rd_on  = take || (rd_left_q != {RowCntBits{1'b0}});
  wire [AddrBits-1:0] rd_row = take ? wl_req_row_i[AddrBits-1:0] : rd_row_q;

  function automatic [ArrBits-1:0] next_slot(input [ArrBits-1:0] s);
    next_slot = (s == ArrBits'(Depth - 1)) ? {ArrBits{1'b0}} : s + 1'b1;
  endfunction

  integer i;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      link_q        <= 32'd0;
      rd_left_q     <= {RowCntBits{1'b0}};
      rd_row_q      <= {AddrBits{1'b0}};
      valid_q       <= {Depth{1'b0}};
      zero_q        <= {Depth{1'b0}};
      wp_q          <= {ArrBits{1'b0}};
      rp_q          <= {ArrBits{1'b0}};
      wl_rd_valid_o <= 1'b0;
      for (i = 0; i < Depth; i = i + 1) cnt_q[i] <= 32'd0;
    end else begin
      for (i = 0; i < Depth; i = i + 1)
        if (valid_q[i] && !zero_q[i]) begin
          cnt_q[i]  <= cnt_q[i] - 1;
          zero_q[i] <= (cnt_q[i] == 32'd1);
        end
      if (wl_arrive_o) begin
        valid_q[rp_q] <= 1'b0;
        rp_q          <= next_slot(rp_q);
      end
      if (take) begin
        link_q        <= 32'(TileXferCycles - 1);
        cnt_q[wp_q]   <= 32'(ArriveCycles - 1);
        zero_q[wp_q]  <= (ArriveCycles == 1);
        valid_q[wp_q] <= 1'b1;
        wp_q          <= next_slot(wp_q);
        rd_left_q     <= RowCntBits'(Rows - 1);
      end else begin
        if (link_q != 32'd0) link_q <= link_q - 1;
        if (rd_left_q != {RowCntBits{1'b0}}) rd_left_q <= rd_left_q - 1'b1;
      end
      rd_row_q      <= rd_row + 1'b1;
      wl_rd_valid_o <= rd_on;
    end
  end

  always @(posedge clk_i) begin
    wl_rd_data_o <= mem[rd_row];
    if (bd_we_i) mem[bd_addr_i[AddrBits-1:0]] <= bd_wdata_i;
  end

  wire unused_addr = ^{bd_addr_i[31:AddrBits], wl_req_row_i[31:AddrBits]};

`ifndef SYNTHESIS
  // what the chip's DMA needs of the weight side (rtl/dma.v): one tile's rows apart from the
  // next's, and every row in its FIFO slot before the tile arrives
  initial begin
    assert (TileXferCycles >= Rows)
      else $error("weight_memory: weight link faster than one tile row per cycle");
    assert (ArriveCycles >= Rows + 1)
      else $error("weight_memory: a weight tile must arrive after its last row");
  end
  always @(posedge clk_i) begin
    if (rst_ni && take) assert (!valid_q[wp_q]) else $error("weight_memory: too many tiles in flight");
  end
`endif

endmodule

`default_nettype wire
