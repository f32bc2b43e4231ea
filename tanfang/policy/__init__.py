"""Each jurisdiction's rules as cited data (POLICIES.md): who is a key object,
how often each elder is visited, which modes count, festivals and declared
events. Pure Python, no Django: the registry and the visit tasks call it."""
