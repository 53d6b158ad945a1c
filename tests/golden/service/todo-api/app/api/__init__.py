"""HTTP routes, one module per `api` component."""
