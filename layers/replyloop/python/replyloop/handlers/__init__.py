"""Lambda glue: parse, authorise, call one service function, shape the answer."""
