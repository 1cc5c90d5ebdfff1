"""Certificate authority backends behind one small interface (see ``base``)."""
