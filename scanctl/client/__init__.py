"""The backend API client: auth, retries, circuit breaker."""
