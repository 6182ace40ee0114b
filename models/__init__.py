"""mongoengine Documents, one module per regulatory area."""
