// weight_fifo: FifoTiles tile slots between the weight DMA and the array's shadow registers,
// plus the shift sequencer that moves the head tile into the shadow weights.
//
// Slot life (sim/isa/ISA.md, "Weight path"): a slot is allocated when the DMA requests a tile
// (alloc_i, cycle r_k), filled row by row by the DMA, usable when the DMA reports its arrival
// (arrive_i, cycle a_k), and freed at the end of the shift that drains it (s_k + Rows). The DMA
// may request only while slot_free_o.
//
// Shift of tile k: starts at s_k = the first cycle with
//   - tile k arrived (arrive_i this cycle, or counted in arrived_q),
//   - the shadow registers empty (tile k-1 consumed by its switch),
//   - the guard elapsed: cycle >= sw_{k-1} + Cols (timing::weight_shift_guard_cycles),
// then writes shadow row i in cycle s_k + i (timing::weight_shift_cycles = Rows cycles).
// shadow_full_o rises in cycle s_k + Rows: the earliest cycle an `mmc switch` may issue.
`default_nettype none

module weight_fifo #(
  parameter integer Rows      = 4,
  parameter integer Cols      = 4,
  parameter integer FifoTiles = 4,
  localparam integer SlotBits = (FifoTiles > 1) ? $clog2(FifoTiles) : 1,
  localparam integer AddrBits = $clog2(FifoTiles * Rows),
  localparam integer RowBits  = $clog2(Rows)
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  // DMA side
  output wire                 slot_free_o,
  output wire [SlotBits-1:0]  alloc_slot_o,
  input  wire                 alloc_i,
  input  wire                 wr_en_i,
  input  wire [AddrBits-1:0]  wr_addr_i,
  input  wire [Cols*8-1:0]    wr_data_i,
  input  wire                 arrive_i,
  // array side
  input  wire                 switch_i,
  output wire                 shadow_full_o,
  output wire                 tile_arrived_o,
  output wire [Rows-1:0]      weight_row_we_o,
  output wire [Cols*8-1:0]    weight_row_o
);

  reg [Cols*8-1:0] mem [0:FifoTiles*Rows-1];

  reg [SlotBits-1:0] tail_q, head_q;
  reg [SlotBits:0]   held_q, arrived_q;
  reg                shifting_q;
  reg [RowBits-1:0]  shift_row_q;
  reg                shadow_full_q;
  reg [31:0]         guard_q;

  wire head_ready  = (arrived_q != 0) || arrive_i;
  wire shift_start = !shifting_q && !shadow_full_q && head_ready && (guard_q == 0);
  wire shift_on    = shift_start || shifting_q;
  wire [RowBits-1:0] shift_row = shift_start ? {RowBits{1'b0}} : shift_row_q;
  wire shift_end   = shift_on && (shift_row == RowBits'(Rows - 1));

  wire [AddrBits-1:0] rd_addr = AddrBits'(head_q * Rows) + AddrBits'(shift_row);

  function automatic [SlotBits-1:0] next_slot(input [SlotBits-1:0] s);
    next_slot = (s == SlotBits'(FifoTiles - 1)) ? {SlotBits{1'b0}} : s + 1'b1;
  endfunction

  always @(posedge clk_i) begin
    if (wr_en_i) mem[wr_addr_i] <= wr_data_i;
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tail_q        <= {SlotBits{1'b0}};
      head_q        <= {SlotBits{1'b0}};
      held_q        <= '0;
      arrived_q     <= '0;
      shifting_q    <= 1'b0;
      shift_row_q   <= {RowBits{1'b0}};
      shadow_full_q <= 1'b0;
      guard_q       <= 32'd0;
    end else begin
      if (alloc_i) tail_q <= next_slot(tail_q);
      held_q    <= held_q + {{SlotBits{1'b0}}, alloc_i} - {{SlotBits{1'b0}}, shift_end};
      arrived_q <= arrived_q + {{SlotBits{1'b0}}, arrive_i} - {{SlotBits{1'b0}}, shift_start};
      shifting_q  <= shift_on && !shift_end;
      shift_row_q <= shift_row + 1'b1;
      if (shift_end) begin
        head_q        <= next_slot(head_q);
        shadow_full_q <= 1'b1;
      end
      if (switch_i) begin
        shadow_full_q <= 1'b0;
        guard_q       <= 32'(Cols - 1);
      end else if (guard_q != 0) begin
        guard_q <= guard_q - 1;
      end
    end
  end

  assign slot_free_o     = held_q < (SlotBits+1)'(FifoTiles);
  assign alloc_slot_o    = tail_q;
  assign shadow_full_o   = shadow_full_q;
  assign tile_arrived_o  = shifting_q || head_ready;
  assign weight_row_o    = mem[rd_addr];
  assign weight_row_we_o = shift_on ? (Rows'(1) << shift_row) : {Rows{1'b0}};

`ifndef SYNTHESIS
  // The controller issues a switch only when the shadow holds a complete tile.
  always @(posedge clk_i) begin
    if (rst_ni && switch_i) assert (shadow_full_q) else $error("switch with empty shadow");
    if (rst_ni && alloc_i) assert (held_q < (SlotBits+1)'(FifoTiles)) else $error("alloc on full FIFO");
  end
`endif

endmodule

`default_nettype wire
