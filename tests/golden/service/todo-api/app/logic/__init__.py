"""Custom logic: modules you own (see app/logic_base/)."""
