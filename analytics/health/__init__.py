"""Customer health: evaluation on planted truth and weight calibration (the score itself is dbt's
`fct_customer_health_daily`)."""
