//! Tests of the weight file (see below).
