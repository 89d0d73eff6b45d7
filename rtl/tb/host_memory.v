// host_memory: the test bench's host side of the host link (not part of the chip): host
// memory (HostVectors vectors of VecBytes) and the link's timing, behind the DMA's host link
// interface (rtl/dma.v).
//
// A request (write, first vector, n vectors) is taken in the cycle it is offered, t, when no
// transfer is in progress (hl_req_ready_o). Read: the n vectors go out on hl_rd, one per cycle in
// [t + 1, t + n] (a registered read). Write: the vectors that come in on hl_wr are stored in
// order. hl_done_o rises D = HostLatency + ceil(n * VecBytes * ClockMhz / HostBwMbS) cycles after
// t (timing::host_transfer_cycles), computed without a divider: after HostLatency cycles a
// credit counter adds HostBwMbS per cycle until it reaches bytes * ClockMhz. The back door loads
// and reads host memory while the core is idle.
`default_nettype none

module host_memory #(
  parameter integer VecBytes    = 4,
  parameter integer HostVectors = 4096,
  parameter integer ClockMhz    = 700,
  parameter integer HostBwMbS   = 2800,
  parameter integer HostLatency = 4,
  localparam integer AddrBits   = $clog2(HostVectors)
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  input  wire                  hl_req_valid_i,
  output wire                  hl_req_ready_o,
  input  wire                  hl_req_write_i,
  input  wire [31:0]           hl_req_addr_i,
  input  wire [31:0]           hl_req_len_i,
  output reg                   hl_rd_valid_o,
  output reg  [VecBytes*8-1:0] hl_rd_data_o,
  input  wire                  hl_wr_valid_i,
  output wire                  hl_wr_ready_o,
  input  wire [VecBytes*8-1:0] hl_wr_data_i,
  output wire                  hl_done_o,
  input  wire                  bd_we_i,
  input  wire [31:0]           bd_addr_i,
  input  wire [VecBytes*8-1:0] bd_wdata_i,
  output wire [VecBytes*8-1:0] bd_rdata_o
);

  reg [VecBytes*8-1:0] mem [0:HostVectors-1];

  reg         active_q;
  reg [31:0]  lat_q;
  reg [63:0]  credit_q, target_q;
  reg [31:0]  rd_left_q, rd_addr_q, wr_addr_q;

  wire take = hl_req_valid_i && hl_req_ready_o;
  assign hl_done_o      = (lat_q == 32'd0) && (credit_q >= target_q);
  assign hl_req_ready_o = !active_q || hl_done_o;
  assign hl_wr_ready_o  = 1'b1;

  // the read stream: the vector read now, and what is left after it
  wire        rd_on   = (take && !hl_req_write_i) || (rd_left_q != 32'd0);
  wire [31:0] rd_addr = take ? hl_req_addr_i : rd_addr_q;
  wire [31:0] rd_left = take ? hl_req_len_i : rd_left_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q      <= 1'b0;
      lat_q         <= 32'd0;
      credit_q      <= 64'd0;
      target_q      <= 64'd0;
      rd_left_q     <= 32'd0;
      rd_addr_q     <= 32'd0;
      wr_addr_q     <= 32'd0;
      hl_rd_valid_o <= 1'b0;
    end else begin
      if (take) begin
        // the request cycle is the first busy cycle: apply its step right away
        active_q <= 1'b1;
        target_q <= 64'(hl_req_len_i) * 64'(VecBytes) * 64'(ClockMhz);
        if (HostLatency != 0) begin
          lat_q    <= 32'(HostLatency - 1);
          credit_q <= 64'd0;
        end else begin
          lat_q    <= 32'd0;
          credit_q <= 64'(HostBwMbS);
        end
      end else if (active_q) begin
        if (hl_done_o)           active_q <= 1'b0;
        else if (lat_q != 32'd0) lat_q    <= lat_q - 1;
        else                     credit_q <= credit_q + 64'(HostBwMbS);
      end
      rd_left_q     <= (rd_on && rd_left != 32'd0) ? rd_left - 32'd1 : 32'd0;
      rd_addr_q     <= rd_addr + 32'd1;
      hl_rd_valid_o <= rd_on && (rd_left != 32'd0);
      if (take)               wr_addr_q <= hl_req_addr_i;
      else if (hl_wr_valid_i) wr_addr_q <= wr_addr_q + 32'd1;
    end
  end

  always @(posedge clk_i) begin
    hl_rd_data_o <= mem[rd_addr[AddrBits-1:0]];
    if (hl_wr_valid_i) mem[wr_addr_q[AddrBits-1:0]] <= hl_wr_data_i;
    if (bd_we_i) mem[bd_addr_i[AddrBits-1:0]] <= bd_wdata_i;
  end
  assign bd_rdata_o = mem[bd_addr_i[AddrBits-1:0]];

  wire unused_addr = ^{bd_addr_i[31:AddrBits]};

`ifndef SYNTHESIS
  // what the chip's DMA needs of the host side (rtl/dma.v): every vector moves inside the
  // transfer's D cycles (D >= n + 1)
  initial begin
    assert (longint'(HostBwMbS) <= longint'(VecBytes) * longint'(ClockMhz))
      else $error("host_memory: host link faster than one vector per cycle");
    assert (HostLatency >= 1) else $error("host_memory: host link latency under 1 cycle");
  end
`endif

endmodule

`default_nettype wire
