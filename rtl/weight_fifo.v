// weight_fifo: FifoTiles tile slots between the weight DMA and the array's shadow registers,
// plus the shift sequencer that moves the head tile into the shadow weights.
//
// Slot life (sim/isa/ISA.md, "Weight path"): a slot is allocated when the DMA requests a tile
// (alloc_i, cycle r_k), filled row by row by the DMA, usable when the DMA reports its arrival
// (arrive_i, cycle a_k), and freed when the last column has read its last row
// (s_k + timing::weight_slot_drain_cycles = s_k + Rows + Cols - 1). The DMA may request only
// while slot_free_o.
//
// The slot memory is Cols byte-wide banks (bank c holds column c of every row) so that each
// column reads its own row: the shift is skewed like the activations. Column c writes shadow
// row i of the tile in cycle s_k + i + c, so the shift wavefront runs through the array on the
// same diagonal (r + c) as the switch wavefront of the `mmc switch` that consumes it
// (sim/isa/ISA.md, "Weight path", derivation). The skew costs one (valid, row, address)
// register per column, not a byte per PE.
//
// Shift of tile k: starts at s_k = the first cycle with
//   - tile k arrived (arrive_i this cycle, or counted in arrived_q),
//   - the shadow registers free (tile k-1's switch issued in an earlier cycle),
//   - the sequencer idle (the previous shift's last row left column 0),
// then feeds column 0 row i in cycle s_k + i (timing::weight_shift_cycles = Rows cycles).
// shadow_full_o rises in cycle s_k + 1 (timing::weight_shift_to_switch_cycles): the earliest
// cycle an `mmc switch` for tile k may issue; that switch clears it, and the next shift may
// start in the following cycle (timing::weight_switch_to_shift_cycles).
`default_nettype none

module weight_fifo #(
  parameter integer Rows      = 4,
  parameter integer Cols      = 4,
  parameter integer FifoTiles = 4,
  localparam integer SlotBits = (FifoTiles > 1) ? $clog2(FifoTiles) : 1,
  localparam integer AddrBits = $clog2(FifoTiles * Rows),
  localparam integer RowBits  = $clog2(Rows)
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // DMA side
  output wire                   slot_free_o,
  output wire [SlotBits-1:0]    alloc_slot_o,
  input  wire                   alloc_i,
  input  wire                   wr_en_i,
  input  wire [AddrBits-1:0]    wr_addr_i,
  input  wire [Cols*8-1:0]      wr_data_i,
  input  wire                   arrive_i,
  // array side
  input  wire                   switch_i,
  output wire                   shadow_full_o,
  output wire                   tile_arrived_o,
  output wire [Cols-1:0]        weight_valid_o,  // column c writes a shadow row this cycle
  output wire [Cols*RowBits-1:0] weight_sel_o,   // ... row weight_sel_o[c]
  output wire [Cols*8-1:0]      weight_o         // ... with this byte
);

  reg [SlotBits-1:0] tail_q, head_q;
  reg [SlotBits:0]   held_q, arrived_q;
  reg                shifting_q;
  reg [RowBits-1:0]  shift_row_q;
  reg                shadow_full_q;

  wire head_ready  = (arrived_q != 0) || arrive_i;
  wire shift_start = !shifting_q && !shadow_full_q && head_ready;
  wire shift_on    = shift_start || shifting_q;
  wire [RowBits-1:0] shift_row = shift_start ? {RowBits{1'b0}} : shift_row_q;
  wire shift_end   = shift_on && (shift_row == RowBits'(Rows - 1));

  function automatic [SlotBits-1:0] next_slot(input [SlotBits-1:0] s);
    next_slot = (s == SlotBits'(FifoTiles - 1)) ? {SlotBits{1'b0}} : s + 1'b1;
  endfunction

  // ---------------------------------------------------------------- column skew
  // Stage c = what column c does this cycle: stage 0 is the sequencer, stage c the registered
  // stage c - 1.
  wire [Cols-1:0]     col_valid;
  wire [RowBits-1:0]  col_row  [0:Cols-1];
  wire [AddrBits-1:0] col_addr [0:Cols-1];

  assign col_valid[0] = shift_on;
  assign col_row[0]   = shift_row;
  assign col_addr[0]  = AddrBits'(head_q * Rows) + AddrBits'(shift_row);

  genvar c;
  generate
    for (c = 1; c < Cols; c = c + 1) begin : gen_skew
      reg                valid_q;
      reg [RowBits-1:0]  row_q;
      reg [AddrBits-1:0] addr_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) valid_q <= 1'b0;
        else         valid_q <= col_valid[c-1];
      end
      always @(posedge clk_i) begin
        row_q  <= col_row[c-1];
        addr_q <= col_addr[c-1];
      end
      assign col_valid[c] = valid_q;
      assign col_row[c]   = row_q;
      assign col_addr[c]  = addr_q;
    end

    // one bank per column, written a whole row at a time by the DMA, read at the column's own
    // address
    for (c = 0; c < Cols; c = c + 1) begin : gen_bank
      reg [7:0] bank [0:FifoTiles*Rows-1];
      always @(posedge clk_i) begin
        if (wr_en_i) bank[wr_addr_i] <= wr_data_i[c*8 +: 8];
      end
      assign weight_o[c*8 +: 8]               = bank[col_addr[c]];
      assign weight_sel_o[c*RowBits +: RowBits] = col_row[c];
    end
  endgenerate

  // The slot drains when the last column has read the tile's last row.
  wire drain_end = col_valid[Cols-1] && (col_row[Cols-1] == RowBits'(Rows - 1));

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tail_q        <= {SlotBits{1'b0}};
      head_q        <= {SlotBits{1'b0}};
      held_q        <= '0;
      arrived_q     <= '0;
      shifting_q    <= 1'b0;
      shift_row_q   <= {RowBits{1'b0}};
      shadow_full_q <= 1'b0;
    end else begin
      if (alloc_i) tail_q <= next_slot(tail_q);
      held_q    <= held_q + {{SlotBits{1'b0}}, alloc_i} - {{SlotBits{1'b0}}, drain_end};
      arrived_q <= arrived_q + {{SlotBits{1'b0}}, arrive_i} - {{SlotBits{1'b0}}, shift_start};
      shifting_q  <= shift_on && !shift_end;
      shift_row_q <= shift_row + 1'b1;
      if (shift_end) head_q <= next_slot(head_q);
      // exclusive: a shift starts only with the shadow free, a switch only with it full
      if (shift_start)   shadow_full_q <= 1'b1;
      else if (switch_i) shadow_full_q <= 1'b0;
    end
  end

  assign slot_free_o    = held_q < (SlotBits+1)'(FifoTiles);
  assign alloc_slot_o   = tail_q;
  assign shadow_full_o  = shadow_full_q;
  // A switch held for an empty shadow waits for a tile that has not started its shift: it has
  // arrived iff one is counted (or arriving).
  assign tile_arrived_o = head_ready;
  assign weight_valid_o = col_valid;

`ifndef SYNTHESIS
  // The controller issues a switch only when the shadow holds a tile.
  always @(posedge clk_i) begin
    if (rst_ni && switch_i) assert (shadow_full_q) else $error("switch with empty shadow");
    if (rst_ni && alloc_i) assert (held_q < (SlotBits+1)'(FifoTiles)) else $error("alloc on full FIFO");
  end
`endif

endmodule

`default_nettype wire
