"""
The derivation's network learns
===============================

The 4-5-3 network of the derivation (4 inputs, 5 tanh hidden units, 3 identity outputs,
squared error) trained by plain gradient descent.  Before training, the gradient from
backpropagation is held against the element-wise formula and against central differences.
"""

import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 4))
D = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2], 0.5 * X[:, 3]])

net = dp.Network([4, 5, 3], activation="tanh", random_state=0)

# %%
# One weight three ways
# ---------------------
# ∂E/∂w_21^(3) from the seed's formula (y_j − d_j) z_i^(2), from backpropagation, and from
# central differences.
g = net.gradients(X, D)
print("element-wise formula:", dp.derive(net, "3:2,1", X, D).value)
print("backpropagation:     ", g.W[3][1, 0])
print("largest relative error of every weight against central differences:",
      f"{dp.gradcheck(net, X, D).max_relative_error:.1e}")

# %%
# Training
# --------
history = dp.gradient_descent(net, X, D, learning_rate=0.1, n_epochs=300)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(history)
ax.set_xlabel("epoch")
ax.set_ylabel("loss (mean of $E_n$)")
ax.set_title("The 4-5-3 network, plain gradient descent")
fig.tight_layout()
plt.show()
