"""The providers partner-sync syncs into, one module each; `sync.registry` lists them."""
