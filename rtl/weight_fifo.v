// weight_fifo: the weight FIFO of one MXU: FifoTiles tile slots between the weight DMA and the
// array's shadow registers, plus ShiftPorts shift sequencers that move tiles into the shadow
// weights (tpu_top instantiates one per MXU, gen_mxu[m].u_weight_fifo).
//
// Slot life (sim/isa/ISA.md, "Weight path"): a slot is allocated when the DMA requests a tile
// for this MXU (alloc_i, cycle r_k), filled row by row by the DMA, usable when the DMA reports
// its arrival (arrive_i, cycle a_k), and freed when the last column has read its last row
// (s_k + timing::weight_slot_drain_cycles = s_k + Rows + Cols - 1). The DMA may request a tile
// for this MXU only while slot_free_o.
//
// The slot memory is Cols byte-wide banks (bank c holds column c of every row) so that each
// column reads its own row: the shift is skewed like the activations. Column c writes shadow
// row i of the tile in cycle s_k + i + c, so the shift wavefront runs through the array on the
// same diagonal (r + c) as the switch wavefront of the `mmc switch` that consumes it
// (sim/isa/ISA.md, "Weight path", derivation). The skew costs one (valid, row, address)
// register per column and port, not a byte per PE.
//
// Shift ports (sim/isa/ISA.md, "Shift ports"): tile k shifts on port k mod ShiftPorts (port_q
// names the port of the next tile). Each port is a sequencer with its own column skew, its own
// read port on every bank and its own row bus per column into the array (weight_*_o, port-major:
// index p * Cols + c). Shift of tile k: starts at s_k = the first cycle with
//   - tile k arrived (arrive_i this cycle, or counted in arrived_q),
//   - the shadow registers free (tile k-1's switch issued in an earlier cycle),
//   - its port idle (tile k - ShiftPorts's shift fed its last row: s_{k-P} + Rows),
// i.e. s_k = max(a_k, sw_{k-1} + 1, s_{k-P} + Rows), then feeds column 0 row i in cycle s_k + i
// (timing::weight_shift_cycles = Rows cycles). shadow_full_o rises in cycle s_k + max(1,
// BusStages) (timing::weight_shift_to_switch_cycles): the earliest cycle an `mmc switch` for tile k may
// issue; that switch clears it, and the next shift may start in the following cycle
// (timing::weight_switch_to_shift_cycles). So two shifts in flight start >= 2 cycles apart and
// never write one PE in the same cycle (both move down the diagonals one step per cycle).
// Shifts start, and so drain, in tile order: head_q is the slot of the next tile to shift, and
// each port keeps the slot it is shifting (slot_q).
`default_nettype none

module weight_fifo #(
  parameter integer Rows       = 4,
  parameter integer Cols       = 4,
  parameter integer FifoTiles  = 4,
  parameter integer ShiftPorts = 1,
  parameter integer BusRows    = 4,  // rows per weight-bus segment (rtl/systolic_array.v)
  localparam integer BusStages = (Rows - 1) / BusRows,  // timing::weight_bus_stages
  localparam integer ReadyBits = (BusStages > 1) ? $clog2(BusStages) : 1,
  localparam integer SlotBits = (FifoTiles > 1) ? $clog2(FifoTiles) : 1,
  localparam integer AddrBits = $clog2(FifoTiles * Rows),
  localparam integer RowBits  = $clog2(Rows),
  localparam integer PortBits = (ShiftPorts > 1) ? $clog2(ShiftPorts) : 1,
  localparam integer Lanes    = ShiftPorts * Cols  // (port, column) pairs, port-major
) (
  input  wire                     clk_i,
  input  wire                     rst_ni,
  // DMA side
  output wire                     slot_free_o,
  output wire [SlotBits-1:0]      alloc_slot_o,
  input  wire                     alloc_i,
  input  wire                     wr_en_i,
  input  wire [AddrBits-1:0]      wr_addr_i,
  input  wire [Cols*8-1:0]        wr_data_i,
  input  wire                     arrive_i,
  // array side
  input  wire                     switch_i,
  output wire                     shadow_full_o,
  output wire                     tile_arrived_o,
  output wire [Lanes-1:0]         weight_valid_o,  // port p's column c writes a shadow row
  output wire [Lanes*RowBits-1:0] weight_sel_o,    // ... row weight_sel_o[p * Cols + c]
  output wire [Lanes*8-1:0]       weight_o         // ... with this byte
);

  reg [SlotBits-1:0] tail_q, head_q;
  reg [SlotBits:0]   held_q, arrived_q;
  reg [PortBits-1:0] port_q;
  reg                shadow_full_q;

  wire head_ready = (arrived_q != 0) || arrive_i;
  // port_busy[p]: port p is feeding rows of an earlier tile (its shifting_q)
  wire [ShiftPorts-1:0] port_busy;
  wire [ShiftPorts-1:0] port_hit;  // port p takes the next tile
  wire shift_start = !(|(port_busy & port_hit)) && !shadow_full_q && head_ready;

  function automatic [SlotBits-1:0] next_slot(input [SlotBits-1:0] s);
    next_slot = (s == SlotBits'(FifoTiles - 1)) ? {SlotBits{1'b0}} : s + 1'b1;
  endfunction

  // head_q after this edge: the slot of the next tile to shift (also what a shift starting in
  // the next cycle reads first, pre_addr below)
  wire [SlotBits-1:0] head_next = shift_start ? next_slot(head_q) : head_q;

  function automatic [PortBits-1:0] next_port(input [PortBits-1:0] p);
    next_port = (p == PortBits'(ShiftPorts - 1)) ? {PortBits{1'b0}} : p + 1'b1;
  endfunction

  // ---------------------------------------------------------------- sequencers and column skew
  // Lane p * Cols + c = what port p's column c does this cycle: stage 0 is port p's sequencer,
  // stage c the registered stage c - 1.
  wire [Lanes-1:0]    col_valid;
  wire [RowBits-1:0]  col_row  [0:Lanes-1];
  wire [AddrBits-1:0] col_addr [0:Lanes-1];
  // pre_addr[l]: the bank address lane l reads in the next cycle (its col_addr then, whenever
  // col_valid then), known one cycle ahead so that the banks are read through a register
  wire [AddrBits-1:0] pre_addr [0:Lanes-1];
  wire [ShiftPorts-1:0] drain_end;  // port p's last column reads its tile's last row

  genvar p, c;
  generate
    for (p = 0; p < ShiftPorts; p = p + 1) begin : gen_port
      reg                shifting_q;
      reg [RowBits-1:0]  shift_row_q;
      reg [SlotBits-1:0] slot_q;

      assign port_hit[p]  = (port_q == PortBits'(p));
      assign port_busy[p] = shifting_q;
      wire port_start = shift_start && port_hit[p];
      wire shift_on   = port_start || shifting_q;
      wire [RowBits-1:0]  shift_row  = port_start ? {RowBits{1'b0}} : shift_row_q;
      wire [SlotBits-1:0] shift_slot = port_start ? head_q : slot_q;
      wire shift_end  = shift_on && (shift_row == RowBits'(Rows - 1));

      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          shifting_q  <= 1'b0;
          shift_row_q <= {RowBits{1'b0}};
          slot_q      <= {SlotBits{1'b0}};
        end else begin
          shifting_q  <= shift_on && !shift_end;
          shift_row_q <= shift_row + 1'b1;
          slot_q      <= shift_slot;
        end
      end

      assign col_valid[p*Cols] = shift_on;
      assign col_row[p*Cols]   = shift_row;
      assign col_addr[p*Cols]  = AddrBits'(shift_slot * Rows) + AddrBits'(shift_row);
      // Column 0 next cycle: the next row of this shift while it goes on (the port is busy, so
      // no shift starts on it), else row 0 of the head slot after this edge (what a shift
      // starting then reads; any other cycle's read is not used).
      assign pre_addr[p*Cols] = (shift_on && !shift_end)
                                    ? col_addr[p*Cols] + 1'b1
                                    : AddrBits'(head_next * Rows);

      for (c = 1; c < Cols; c = c + 1) begin : gen_skew
        reg                valid_q;
        reg [RowBits-1:0]  row_q;
        reg [AddrBits-1:0] addr_q;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) valid_q <= 1'b0;
          else         valid_q <= col_valid[p*Cols+c-1];
        end
        always @(posedge clk_i) begin
          row_q  <= col_row[p*Cols+c-1];
          addr_q <= col_addr[p*Cols+c-1];
        end
        assign col_valid[p*Cols+c] = valid_q;
        assign col_row[p*Cols+c]   = row_q;
        assign col_addr[p*Cols+c]  = addr_q;
        assign pre_addr[p*Cols+c]  = col_addr[p*Cols+c-1];  // addr_q's next value
      end

      // The slot drains when the last column has read the tile's last row.
      assign drain_end[p] = col_valid[p*Cols+Cols-1] &&
                            (col_row[p*Cols+Cols-1] == RowBits'(Rows - 1));
    end

    // One bank per column and port (a synchronous 1R1W memory, rtl/prim/prim_ram_1r1w.v; the
    // ports' copies of a column are written alike, one read port each), written a whole row at
    // a time by the DMA. The bank is read at pre_addr through its read register, write-through,
    // so weight_o in cycle t is the word at col_addr(t) including a write at the edge opening
    // cycle t: what an asynchronous read of col_addr(t) gave, with no cycle added.
    for (c = 0; c < Cols; c = c + 1) begin : gen_bank
      for (p = 0; p < ShiftPorts; p = p + 1) begin : gen_read
        prim_ram_1r1w #(
          .Depth(FifoTiles * Rows),
          .Width(8),
          .WriteThrough(1'b1)
        ) u_bank (
          .clk_i  (clk_i),
          .we_i   (wr_en_i),
          .waddr_i(wr_addr_i),
          .wdata_i(wr_data_i[c*8 +: 8]),
          .re_i   (1'b1),
          .raddr_i(pre_addr[p*Cols+c]),
          .rdata_o(weight_o[(p*Cols+c)*8 +: 8])
        );
        assign weight_sel_o[(p*Cols+c)*RowBits +: RowBits] = col_row[p*Cols+c];
      end
    end
  endgenerate

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tail_q        <= {SlotBits{1'b0}};
      head_q        <= {SlotBits{1'b0}};
      held_q        <= '0;
      arrived_q     <= '0;
      port_q        <= {PortBits{1'b0}};
      shadow_full_q <= 1'b0;
    end else begin
      if (alloc_i) tail_q <= next_slot(tail_q);
      // drains are >= 2 cycles apart (shift starts are), so at most one per cycle
      held_q    <= held_q + {{SlotBits{1'b0}}, alloc_i} - {{SlotBits{1'b0}}, |drain_end};
      arrived_q <= arrived_q + {{SlotBits{1'b0}}, arrive_i} - {{SlotBits{1'b0}}, shift_start};
      head_q <= head_next;
      if (shift_start) port_q <= next_port(port_q);
      // exclusive: a shift starts only with the shadow free, a switch only with it full
      if (shift_start)   shadow_full_q <= 1'b1;
      else if (switch_i) shadow_full_q <= 1'b0;
    end
  end

  // The shadow is ready for a switch weight_shift_to_switch_cycles = max(1, BusStages) cycles
  // after its shift starts: the switch wavefront may then run right behind the shift, whose
  // write of row i comes floor(i / BusRows) cycles late (sim/isa/ISA.md, "Weight path").
  wire shadow_ready;
  generate
    if (BusStages > 1) begin : gen_ready
      reg [ReadyBits-1:0] ready_cnt_q;  // cycles left until the shadow is ready
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni)                ready_cnt_q <= {ReadyBits{1'b0}};
        else if (shift_start)       ready_cnt_q <= ReadyBits'(BusStages - 1);
        else if (ready_cnt_q != '0) ready_cnt_q <= ready_cnt_q - 1'b1;
      end
      assign shadow_ready = ready_cnt_q == '0;
    end else begin : gen_no_wait
      assign shadow_ready = 1'b1;
    end
  endgenerate

  assign slot_free_o    = held_q < (SlotBits+1)'(FifoTiles);
  assign alloc_slot_o   = tail_q;
  assign shadow_full_o  = shadow_full_q && shadow_ready;
  // A switch held for an empty shadow waits for a tile that has not started its shift: it has
  // arrived iff one is counted (or arriving). One held for a shadow that is not ready yet
  // (the shift's bus stages) waits for a tile that has arrived.
  assign tile_arrived_o = head_ready || shadow_full_q;
  assign weight_valid_o = col_valid;

`ifndef SYNTHESIS
  // The controller issues a switch only when the shadow holds a tile.
  always @(posedge clk_i) begin
    if (rst_ni && switch_i) assert (shadow_full_q) else $error("switch with empty shadow");
    if (rst_ni && alloc_i) assert (held_q < (SlotBits+1)'(FifoTiles)) else $error("alloc on full FIFO");
    if (rst_ni) assert ($onehot0(drain_end)) else $error("two slots drain in one cycle");
  end
`endif

endmodule

`default_nettype wire
