"""A package packed into the test library, with data and metadata."""
