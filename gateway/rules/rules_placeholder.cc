// rules module: sources arrive with its implementation.
