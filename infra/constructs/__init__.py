"""One construct per concern; the stack wires grants between them."""
