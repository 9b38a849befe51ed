// broker module: sources arrive with its implementation.
