"""The seed's mathematics: activations and their derivatives, losses and δ^(L), the network's
forward and backward passes, the element-wise derivation (an independent oracle), finite
differences and the optimisers' update rules.  Imports only numpy and scipy."""
