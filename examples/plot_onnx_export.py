"""
Exporting to ONNX
=================

:func:`deltaprop.to_onnx` writes a fitted model as an ONNX graph; ONNX Runtime runs it without
deltaprop and gives the same predictions (here to the last bits of float64).
"""

import warnings

import numpy as np
import onnxruntime
from sklearn.exceptions import ConvergenceWarning

import deltaprop as dp

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    reg = dp.MLPRegressor(hidden_layer_sizes=(16,), activation="softplus", max_iter=50, random_state=0)
    reg.fit(X, y)

proto = dp.to_onnx(reg)
print("inputs: ", [(i.name, i.type.tensor_type.elem_type) for i in proto.graph.input])
print("outputs:", [o.name for o in proto.graph.output])
print("operators:", sorted({node.op_type for node in proto.graph.node}))

session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
onnx_y = session.run(["y"], {"X": X})[0].ravel()
print(f"largest relative difference from deltaprop: {np.max(np.abs(onnx_y / reg.predict(X) - 1)):.1e}")
