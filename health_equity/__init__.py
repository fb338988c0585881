"""Statistics behind the dbt Python models: pure functions, DataFrame in, DataFrame out."""
