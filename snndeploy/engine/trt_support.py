"""TensorRT's ONNX parser support per version, transcribed from onnx-tensorrt's docs/operators.md.

Plain data plus a few tiny helpers, standard library only, read by the static check in
``check.py`` that compares an ONNX graph with what TensorRT's ONNX parser accepts.

Sources (everything below is transcribed, not inferred, unless marked
"RECONSTRUCTED" or "ASSUMED"):

[OPS-8.5]  onnx/onnx-tensorrt  docs/operators.md  @ 6d0ab7be324d02c7feb3a306b6fdbeae84f71ddc
           (header: "TensorRT 8.5 supports operators up to Opset 17.")
           https://github.com/onnx/onnx-tensorrt/blob/6d0ab7be324d02c7feb3a306b6fdbeae84f71ddc/docs/operators.md
[OPS-8.6]  onnx/onnx-tensorrt  docs/operators.md  @ tag release/8.6-GA
           (6ba67d3428e05f690145373ca87fb8d32f98df45, the parser NVIDIA/TensorRT release/8.6 pins
           as parsers/onnx).  Header: "TensorRT 8.6 supports operators up to Opset 17." /
           "TensorRT supports the following ONNX data types: DOUBLE, FLOAT32, FLOAT16, INT8, and BOOL" /
           "> Note: There is limited support for INT32, INT64, and DOUBLE types. TensorRT will
           attempt to cast down INT64 to INT32 and DOUBLE down to FLOAT, clamping values to
           `+-INT_MAX` or `+-FLT_MAX` if necessary."  (The 8.5 header reads the same.)
[OPS-10.1] onnx/onnx-tensorrt  docs/operators.md  @ tag release/10.1-GA
           (96e781103cfc4adf4a6bb557e94bac8e693f6f4c, pinned by NVIDIA/TensorRT v10.1.0).  Its header
           was not updated from 10.0: "TensorRT 10.0 supports operators in the inclusive range of
           opset 9 to opset 20." / "TensorRT supports the following ONNX data types: DOUBLE,
           FLOAT32, FLOAT16, BFLOAT16, INT32, INT64, FP8, INT8, INT4, UINT8, and BOOL".
           NOTE: the release/10.3-GA revision (62bdde2a04fcd53c2409cb895ee18db445b7e755, pinned by
           NVIDIA/TensorRT v10.3.0) is NOT in the stored corpus this was written from, so the 10.3
           data is RECONSTRUCTED as "10.1 GA table + the 10.2 and 10.3 entries of [CL]"; those
           entries add no operator and change one rule (tensor `axes` for Slice).
[SRC]      The importers, where a parser reads past an attribute or input (the node parses but
           computes something else), or rejects what the table does not mention:
           onnx/onnx-tensorrt builtin_op_importers.cpp @ release/8.5-GA and release/8.6-GA
           (Shape: `addShape(input)` only, `start`/`end` never read; ReduceL1/L2/LogSumExp/Max/
           Mean/Min/Prod/SumSquare: `reduceTensor` without the `axes` input, i.e. over all axes;
           RandomNormalLike/RandomUniformLike: "The input tensor cannot be an initializer.");
           onnxOpImporters.cpp @ release/10.0-EA on (Shape reads `start`/`end`) and
           @ release/10.1-GA (the Random*Like assertion still there).
[CL]       onnx/onnx-tensorrt docs/Changelog.md (revision whose newest entry is
           "TensorRT 10.15 GA Release - 2026-2-2"), https://github.com/onnx/onnx-tensorrt/blob/main/docs/Changelog.md
[OPS-10]   onnx/onnx-tensorrt docs/operators.md, 10.15 revision (latest 10.x):
           "TensorRT 10.15 supports operators in the inclusive range of opset 9 to opset 24."
           The stored copy carries no commit id; upstream it is the release/10.15-GA
           revision of https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md
[OPSET-11] NVIDIA, "ONNX Opset Guide" (TensorRT 11.x):
           https://docs.nvidia.com/deeplearning/tensorrt/latest/reference/onnx-opset-guide.html
           "Item | TensorRT 11.x ... Maximum opset 25 ... Minimum opset (official backward
           support) 9 and above ... Operator support list: ONNX-TensorRT operators.md"
[REL-11]   NVIDIA/TensorRT GitHub releases v11.0 .. v11.5 and onnx/onnx-tensorrt release/11.5-GA:
           https://github.com/NVIDIA/TensorRT/releases/tag/v11.0  "Parsers: Added support for Swish
             operator; Added support for custom operators TRT_Attention, TRT_MoE, and TRT_KVCacheUpdate"
           https://github.com/NVIDIA/TensorRT/releases/tag/v11.1  "Parsers: Updated TRT_Attention to support raggedness."
           https://github.com/NVIDIA/TensorRT/releases/tag/v11.2  "Parsers: ... Added support for the DFT
             operator and 5D GridSample operators."
           https://github.com/NVIDIA/TensorRT/releases/tag/v11.5  "Parsers: Added support for ONNX opset 25
             and updated the supported ONNX release to 1.22.0. ... Added support for Squeeze when axis
             input is omitted."
[MIG-11]   NVIDIA, "Migrating from TensorRT 10.x to 11.x":
           https://docs.nvidia.com/deeplearning/tensorrt/latest/api/migration/tensorrt-10x-to-11x-c-api-reference.html
           "BuilderFlag::kFP16 -> Strong typing with ModelOpt AutoCast; BuilderFlag::kINT8 -> Explicit
           quantization with Q/DQ nodes; ... IBuilderConfig::setInt8Calibrator -> Explicit quantization"
           https://docs.nvidia.com/deeplearning/tensorrt/11.4.0/api/migration/tensorrt-10x-to-11x.html
           "Strongly Typed Networks Are Now Required. TensorRT 11.x removes all weak typing APIs."
[DIMS]     NVIDIA C++ API, nvinfer1::Dims64 (10.x) / Dims32 (8.x):
           https://docs.nvidia.com/deeplearning/tensorrt/api/c_api/classnvinfer1_1_1_dims64.html
           "static constexpr int32_t MAX_DIMS {8}  The maximum rank (number of dimensions)
           supported for a tensor."

TensorRT 11: no stored operators.md revision for 11.x exists in the corpus.
ASSUMED: 11 == the 10.15 table + the parser additions listed in the 11.x release notes
([REL-11]); nothing in those notes removes an ONNX operator.  The 11.x-wide changes are
about typing (strongly typed networks only, FP16/INT8/... builder flags and implicit INT8
calibration removed, [MIG-11]), which do not change which op types the parser imports.

Data type names are the ones the operators.md "Supported Types" column uses:
FP32, FP16, BF16, FP8, FP4, INT4, INT8, INT32, INT64, UINT8, BOOL.  No per-op entry in
any revision lists DOUBLE; DOUBLE is only "supported" by a down-cast to FLOAT (see
GRAPH_DTYPES).  Use ONNX_TO_DOC_DTYPE to map onnx.TensorProto names.
"""

# The keys of every table below, as `--trt` takes them; "10" is the latest 10.x (10.15).
TRT_VERSIONS = ("8.5", "8.6", "10.3", "10", "11")

# ---------------------------------------------------------------------------
# Operator tables
# ---------------------------------------------------------------------------

# [OPS-8.5] every row with "Supported: Y" (op types of the default ONNX domain;
# ImageScaler, ParametricSoftplus and ScaledTanh are old experimental ONNX ops the
# table still lists).
_OPS_8_5_DOC = frozenset({
    'Abs', 'Acos', 'Acosh', 'Add', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan',
    'Atanh', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Celu', 'Clip',
    'Concat', 'Constant', 'ConstantOfShape', 'Conv', 'ConvTranspose', 'Cos', 'Cosh',
    'CumSum', 'DepthToSpace', 'DequantizeLinear', 'Div', 'Dropout', 'Einsum', 'Elu',
    'Equal', 'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten', 'Floor', 'Gather',
    'GatherElements', 'GatherND', 'Gemm', 'GlobalAveragePool', 'GlobalLpPool',
    'GlobalMaxPool', 'Greater', 'GreaterOrEqual', 'GridSample', 'GRU', 'HardSigmoid',
    'HardSwish', 'Identity', 'If', 'ImageScaler', 'InstanceNormalization', 'IsNaN',
    'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'LogSoftmax', 'Loop', 'LpNormalization',
    'LpPool', 'LRN', 'LSTM', 'MatMul', 'Max', 'MaxPool', 'Mean',
    'MeanVarianceNormalization', 'Min', 'Mod', 'Mul', 'Neg', 'NonMaxSuppression',
    'NonZero', 'Not', 'OneHot', 'Or', 'Pad', 'ParametricSoftplus', 'Pow', 'PRelu',
    'QuantizeLinear', 'RandomNormal', 'RandomNormalLike', 'RandomUniform',
    'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
    'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
    'ReduceSum', 'ReduceSumSquare', 'Relu', 'Reshape', 'Resize', 'ReverseSequence',
    'RNN', 'RoiAlign', 'Round', 'ScaledTanh', 'Scan', 'Scatter', 'ScatterElements',
    'ScatterND', 'Selu', 'Shape', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size',
    'Slice', 'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Split', 'Sqrt',
    'Squeeze', 'Sub', 'Sum', 'Tan', 'Tanh', 'ThresholdedRelu', 'Tile', 'TopK',
    'Transpose', 'Trilu', 'Unsqueeze', 'Upsample', 'Where', 'Xor',
})

# [OPS-8.5] rows with "Supported: N".
_UNSUPPORTED_8_5_DOC = frozenset({
    'Bernoulli', 'BitShift', 'BlackmanWindow', 'Compress', 'ConcatFromSequence',
    'ConvInteger', 'Det', 'DFT', 'DynamicQuantizeLinear', 'HammingWindow',
    'HannWindow', 'Hardmax', 'IsInf', 'LayerNormalization', 'MatMulInteger',
    'MaxRoiPool', 'MaxUnpool', 'MelWeightMatrix', 'Multinomial',
    'NegativeLogLikelihoodLoss', 'Optional', 'OptionalGetElement',
    'OptionalHasElement', 'QLinearConv', 'QLinearMatMul', 'SequenceAt',
    'SequenceConstruct', 'SequenceEmpty', 'SequenceErase', 'SequenceInsert',
    'SequenceLength', 'SequenceMap', 'SoftmaxCrossEntropyLoss', 'SplitToSequence',
    'STFT', 'StringNormalizer', 'TfIdfVectorizer', 'Unique',
})

# [OPS-8.6] has the rows of [OPS-8.5] with these three turned from "N" to "Y" ([CL] "TensorRT 8.6
# EA Release - 2023-3-13 ... Added support for `GroupNormalization`, `LayerNormalization`, `IsInf`
# operations"); no other row changes "Supported".
_ADDED_IN_8_6 = frozenset({"GroupNormalization", "IsInf", "LayerNormalization"})

# [OPS-10] every row with "Supported: Y" in the 10.15 table.
_OPS_10_DOC = frozenset({
    'Abs', 'Acos', 'Acosh', 'Add', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan',
    'Atanh', 'Attention', 'AveragePool', 'BatchNormalization', 'BlackmanWindow',
    'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Concat', 'Constant',
    'ConstantOfShape', 'Conv', 'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DeformConv',
    'DepthToSpace', 'DequantizeLinear', 'Div', 'Dropout', 'Einsum', 'Elu', 'Equal',
    'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten', 'Floor', 'Gather', 'GatherElements',
    'GatherND', 'Gelu', 'Gemm', 'GlobalAveragePool', 'GlobalLpPool', 'GlobalMaxPool',
    'Greater', 'GreaterOrEqual', 'GridSample', 'GroupNormalization', 'GRU',
    'HammingWindow', 'HannWindow', 'Hardmax', 'HardSigmoid', 'HardSwish', 'Identity',
    'If', 'ImageScaler', 'InstanceNormalization', 'IsInf', 'IsNaN',
    'LayerNormalization', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'LogSoftmax',
    'Loop', 'LpNormalization', 'LpPool', 'LRN', 'LSTM', 'MatMul', 'Max', 'MaxPool',
    'Mean', 'MeanVarianceNormalization', 'Min', 'Mish', 'Mod', 'Mul', 'Neg',
    'NonMaxSuppression', 'NonZero', 'Not', 'OneHot', 'Or', 'Pad', 'ParametricSoftplus',
    'Pow', 'PRelu', 'QuantizeLinear', 'RandomNormal', 'RandomNormalLike',
    'RandomUniform', 'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1',
    'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean',
    'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'Relu', 'Reshape',
    'Resize', 'ReverseSequence', 'RMSNormalization', 'RNN', 'RoiAlign',
    'RotaryEmbedding', 'Round', 'ScaledTanh', 'Scan', 'Scatter', 'ScatterElements',
    'ScatterND', 'Selu', 'Shape', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size',
    'Slice', 'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Split', 'Sqrt',
    'Squeeze', 'STFT', 'Sub', 'Sum', 'Tan', 'Tanh', 'TensorScatter', 'ThresholdedRelu',
    'Tile', 'TopK', 'Transpose', 'Trilu', 'Unsqueeze', 'Upsample', 'Where', 'Xor',
})

# [OPS-10] rows with "Supported: N" in the 10.15 table.
_UNSUPPORTED_10_DOC = frozenset({
    'AffineGrid', 'Bernoulli', 'BitShift', 'BitwiseAnd', 'BitwiseNot', 'BitwiseOr',
    'BitwiseXor', 'CenterCropPad', 'Col2Im', 'Compress', 'ConcatFromSequence',
    'ConvInteger', 'Det', 'DFT', 'DynamicQuantizeLinear', 'ImageDecoder',
    'MatMulInteger', 'MaxRoiPool', 'MaxUnpool', 'MelWeightMatrix', 'Multinomial',
    'NegativeLogLikelihoodLoss', 'Optional', 'OptionalGetElement',
    'OptionalHasElement', 'QLinearConv', 'QLinearMatMul', 'RegexFullMatch',
    'SequenceAt', 'SequenceConstruct', 'SequenceEmpty', 'SequenceErase',
    'SequenceInsert', 'SequenceLength', 'SequenceMap', 'SoftmaxCrossEntropyLoss',
    'SplitToSequence', 'StringConcat', 'StringNormalizer', 'StringSplit',
    'TfIdfVectorizer', 'Unique',
})

# [OPS-10.1] has the rows of [OPS-10] except these: four "N" in 10.1 ([CL] 10.4 "Added support for
# `BlackmanWindow`, `HammingWindow`, and `HannWindow` operations", 10.5 "Added support for
# real-valued `STFT` operations") and four not listed (10.14 `Attention`, 10.15 `RotaryEmbedding`,
# `RMSNormalization`, `TensorScatter`).  [CL] 10.2 and 10.3 add no operator.
_ADDED_AFTER_10_3 = frozenset({"Attention", "BlackmanWindow", "HammingWindow", "HannWindow",
                               "RMSNormalization", "RotaryEmbedding", "STFT", "TensorScatter"})
_N_IN_10_3 = frozenset({"BlackmanWindow", "HammingWindow", "HannWindow", "STFT"})

# [REL-11] v11.0 "Added support for Swish operator"; v11.2 "Added support for the DFT
# operator" (DFT is "N" in the 10.15 table).  The custom ops TRT_Attention, TRT_MoE and
# TRT_KVCacheUpdate (v11.0) are not default-domain ONNX ops and are left out.
_ADDED_IN_11 = frozenset({"DFT", "Swish"})

SUPPORTED_OPS: dict[str, frozenset[str]] = {
    "8.5": _OPS_8_5_DOC,
    "8.6": _OPS_8_5_DOC | _ADDED_IN_8_6,
    "10.3": _OPS_10_DOC - _ADDED_AFTER_10_3,  # RECONSTRUCTED, see module docstring
    "10": _OPS_10_DOC,
    "11": _OPS_10_DOC | _ADDED_IN_11,  # ASSUMED, see module docstring
}

# Ops the docs explicitly mark "N" (handy to tell "documented as unsupported" from
# "not listed at all", e.g. ops newer than the table).
DOCUMENTED_UNSUPPORTED: dict[str, frozenset[str]] = {
    "8.5": _UNSUPPORTED_8_5_DOC,
    "8.6": _UNSUPPORTED_8_5_DOC - _ADDED_IN_8_6,
    "10.3": _UNSUPPORTED_10_DOC | _N_IN_10_3,
    "10": _UNSUPPORTED_10_DOC,
    "11": _UNSUPPORTED_10_DOC - _ADDED_IN_11,
}

# ---------------------------------------------------------------------------
# Per-op data types ("Supported Types" column).  Only ops whose types the docs list.
# ---------------------------------------------------------------------------

# [OPS-8.6] column.
_OP_DTYPES_8_6 = {
    'Abs': frozenset({'FP32', 'FP16', 'INT32'}),
    'Acos': frozenset({'FP32', 'FP16'}),
    'Acosh': frozenset({'FP32', 'FP16'}),
    'Add': frozenset({'FP32', 'FP16', 'INT32'}),
    'And': frozenset({'BOOL'}),
    'ArgMax': frozenset({'FP32', 'FP16', 'INT32'}),
    'ArgMin': frozenset({'FP32', 'FP16', 'INT32'}),
    'Asin': frozenset({'FP32', 'FP16'}),
    'Asinh': frozenset({'FP32', 'FP16'}),
    'Atan': frozenset({'FP32', 'FP16'}),
    'Atanh': frozenset({'FP32', 'FP16'}),
    'AveragePool': frozenset({'FP32', 'FP16', 'INT8', 'INT32'}),
    'BatchNormalization': frozenset({'FP32', 'FP16'}),
    'Cast': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'UINT8', 'BOOL'}),
    'Ceil': frozenset({'FP32', 'FP16'}),
    'Celu': frozenset({'FP32', 'FP16'}),
    'Clip': frozenset({'FP32', 'FP16', 'INT8'}),
    'Concat': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Constant': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'ConstantOfShape': frozenset({'FP32'}),
    'Conv': frozenset({'FP32', 'FP16', 'INT8'}),
    'ConvTranspose': frozenset({'FP32', 'FP16', 'INT8'}),
    'Cos': frozenset({'FP32', 'FP16'}),
    'Cosh': frozenset({'FP32', 'FP16'}),
    'CumSum': frozenset({'FP32', 'FP16'}),
    'DepthToSpace': frozenset({'FP32', 'FP16', 'INT32'}),
    'DequantizeLinear': frozenset({'INT8'}),
    'Div': frozenset({'FP32', 'FP16', 'INT32'}),
    'Dropout': frozenset({'FP32', 'FP16'}),
    'Einsum': frozenset({'FP32', 'FP16'}),
    'Elu': frozenset({'FP32', 'FP16', 'INT8'}),
    'Equal': frozenset({'FP32', 'FP16', 'INT32'}),
    'Erf': frozenset({'FP32', 'FP16'}),
    'Exp': frozenset({'FP32', 'FP16'}),
    'Expand': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'EyeLike': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'Flatten': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'Floor': frozenset({'FP32', 'FP16'}),
    'Gather': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'GatherElements': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'GatherND': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Gemm': frozenset({'FP32', 'FP16', 'INT8'}),
    'GlobalAveragePool': frozenset({'FP32', 'FP16', 'INT8'}),
    'GlobalLpPool': frozenset({'FP32', 'FP16', 'INT8'}),
    'GlobalMaxPool': frozenset({'FP32', 'FP16', 'INT8'}),
    'Greater': frozenset({'FP32', 'FP16', 'INT32'}),
    'GreaterOrEqual': frozenset({'FP32', 'FP16', 'INT32'}),
    'GridSample': frozenset({'FP32', 'FP16'}),
    'GroupNormalization': frozenset({'FP32', 'FP16'}),
    'GRU': frozenset({'FP32', 'FP16'}),
    'HardSigmoid': frozenset({'FP32', 'FP16', 'INT8'}),
    'HardSwish': frozenset({'FP32', 'FP16', 'INT8'}),
    'Identity': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'If': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'ImageScaler': frozenset({'FP32', 'FP16'}),
    'InstanceNormalization': frozenset({'FP32', 'FP16'}),
    'IsInf': frozenset({'FP32', 'FP16'}),
    'IsNaN': frozenset({'FP32', 'FP16', 'INT32'}),
    'LayerNormalization': frozenset({'FP32', 'FP16'}),
    'LeakyRelu': frozenset({'FP32', 'FP16', 'INT8'}),
    'Less': frozenset({'FP32', 'FP16', 'INT32'}),
    'LessOrEqual': frozenset({'FP32', 'FP16', 'INT32'}),
    'Log': frozenset({'FP32', 'FP16'}),
    'LogSoftmax': frozenset({'FP32', 'FP16'}),
    'Loop': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'LpNormalization': frozenset({'FP32', 'FP16'}),
    'LpPool': frozenset({'FP32', 'FP16', 'INT8'}),
    'LRN': frozenset({'FP32', 'FP16'}),
    'LSTM': frozenset({'FP32', 'FP16'}),
    'MatMul': frozenset({'FP32', 'FP16'}),
    'Max': frozenset({'FP32', 'FP16', 'INT32'}),
    'MaxPool': frozenset({'FP32', 'FP16', 'INT8'}),
    'Mean': frozenset({'FP32', 'FP16', 'INT32'}),
    'MeanVarianceNormalization': frozenset({'FP32', 'FP16'}),
    'Min': frozenset({'FP32', 'FP16', 'INT32'}),
    'Mod': frozenset({'FP32', 'FP16', 'INT32'}),
    'Mul': frozenset({'FP32', 'FP16', 'INT32'}),
    'Neg': frozenset({'FP32', 'FP16', 'INT32'}),
    'NonMaxSuppression': frozenset({'FP32', 'FP16'}),
    'NonZero': frozenset({'FP32', 'FP16'}),
    'Not': frozenset({'BOOL'}),
    'OneHot': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'Or': frozenset({'BOOL'}),
    'Pad': frozenset({'FP32', 'FP16', 'INT8', 'INT32'}),
    'ParametricSoftplus': frozenset({'FP32', 'FP16', 'INT8'}),
    'Pow': frozenset({'FP32', 'FP16'}),
    'PRelu': frozenset({'FP32', 'FP16', 'INT8'}),
    'QuantizeLinear': frozenset({'FP32', 'FP16'}),
    'RandomNormal': frozenset({'FP32', 'FP16'}),
    'RandomNormalLike': frozenset({'FP32', 'FP16'}),
    'RandomUniform': frozenset({'FP32', 'FP16'}),
    'RandomUniformLike': frozenset({'FP32', 'FP16'}),
    'Range': frozenset({'FP32', 'FP16', 'INT32'}),
    'Reciprocal': frozenset({'FP32', 'FP16'}),
    'ReduceL1': frozenset({'FP32', 'FP16'}),
    'ReduceL2': frozenset({'FP32', 'FP16'}),
    'ReduceLogSum': frozenset({'FP32', 'FP16'}),
    'ReduceLogSumExp': frozenset({'FP32', 'FP16'}),
    'ReduceMax': frozenset({'FP32', 'FP16'}),
    'ReduceMean': frozenset({'FP32', 'FP16'}),
    'ReduceMin': frozenset({'FP32', 'FP16'}),
    'ReduceProd': frozenset({'FP32', 'FP16'}),
    'ReduceSum': frozenset({'FP32', 'FP16'}),
    'ReduceSumSquare': frozenset({'FP32', 'FP16'}),
    'Relu': frozenset({'FP32', 'FP16', 'INT8'}),
    'Reshape': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Resize': frozenset({'FP32', 'FP16'}),
    'ReverseSequence': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'RNN': frozenset({'FP32', 'FP16'}),
    'RoiAlign': frozenset({'FP32', 'FP16'}),
    'Round': frozenset({'FP32', 'FP16', 'INT8'}),
    'ScaledTanh': frozenset({'FP32', 'FP16', 'INT8'}),
    'Scan': frozenset({'FP32', 'FP16'}),
    'Scatter': frozenset({'FP32', 'FP16', 'INT8', 'INT32'}),
    'ScatterElements': frozenset({'FP32', 'FP16', 'INT8', 'INT32'}),
    'ScatterND': frozenset({'FP32', 'FP16', 'INT8', 'INT32'}),
    'Selu': frozenset({'FP32', 'FP16', 'INT8'}),
    'Shape': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Shrink': frozenset({'FP32', 'FP16', 'INT32'}),
    'Sigmoid': frozenset({'FP32', 'FP16', 'INT8'}),
    'Sign': frozenset({'FP32', 'FP16', 'INT8', 'INT32'}),
    'Sin': frozenset({'FP32', 'FP16'}),
    'Sinh': frozenset({'FP32', 'FP16'}),
    'Size': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Slice': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Softmax': frozenset({'FP32', 'FP16'}),
    'Softplus': frozenset({'FP32', 'FP16', 'INT8'}),
    'Softsign': frozenset({'FP32', 'FP16', 'INT8'}),
    'SpaceToDepth': frozenset({'FP32', 'FP16', 'INT32'}),
    'Split': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'Sqrt': frozenset({'FP32', 'FP16'}),
    'Squeeze': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Sub': frozenset({'FP32', 'FP16', 'INT32'}),
    'Sum': frozenset({'FP32', 'FP16', 'INT32'}),
    'Tan': frozenset({'FP32', 'FP16'}),
    'Tanh': frozenset({'FP32', 'FP16', 'INT8'}),
    'ThresholdedRelu': frozenset({'FP32', 'FP16', 'INT8'}),
    'Tile': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'TopK': frozenset({'FP32', 'FP16', 'INT32'}),
    'Transpose': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Trilu': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Unsqueeze': frozenset({'FP32', 'FP16', 'INT8', 'INT32', 'BOOL'}),
    'Upsample': frozenset({'FP32', 'FP16'}),
    'Where': frozenset({'FP32', 'FP16', 'INT32', 'BOOL'}),
    'Xor': frozenset({'BOOL'}),
}

# [OPS-10] column of the 10.15 table.
_OP_DTYPES_10 = {
    'Abs': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Acos': frozenset({'FP32', 'FP16', 'BF16'}),
    'Acosh': frozenset({'FP32', 'FP16', 'BF16'}),
    'Add': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'And': frozenset({'BOOL'}),
    'ArgMax': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ArgMin': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Asin': frozenset({'FP32', 'FP16', 'BF16'}),
    'Asinh': frozenset({'FP32', 'FP16', 'BF16'}),
    'Atan': frozenset({'FP32', 'FP16', 'BF16'}),
    'Atanh': frozenset({'FP32', 'FP16', 'BF16'}),
    'Attention': frozenset({'FP32', 'FP16', 'BF16', 'FP8', 'INT8'}),
    'AveragePool': frozenset({'FP32', 'FP16', 'BF16'}),
    'BatchNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'BlackmanWindow': frozenset({'FP32', 'FP16'}),
    'Cast': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'UINT8', 'BOOL'}),
    'CastLike': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'UINT8', 'BOOL'}),
    'Ceil': frozenset({'FP32', 'FP16', 'BF16'}),
    'Celu': frozenset({'FP32', 'FP16', 'BF16'}),
    'Clip': frozenset({'FP32', 'FP16', 'BF16'}),
    'Concat': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Constant': frozenset({'FP32', 'FP16', 'BF16', 'FP8', 'FP4', 'INT4', 'INT32', 'INT64', 'BOOL'}),
    'ConstantOfShape': frozenset({'FP32', 'FP16', 'BF16', 'FP8', 'FP4', 'INT4', 'INT32', 'INT64', 'BOOL'}),
    'Conv': frozenset({'FP32', 'FP16', 'BF16'}),
    'ConvTranspose': frozenset({'FP32', 'FP16', 'BF16'}),
    'Cos': frozenset({'FP32', 'FP16', 'BF16'}),
    'Cosh': frozenset({'FP32', 'FP16', 'BF16'}),
    'CumSum': frozenset({'FP32', 'FP16', 'BF16'}),
    'DeformConv': frozenset({'FP32', 'FP16'}),
    'DepthToSpace': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'DequantizeLinear': frozenset({'FP8', 'FP4', 'INT4', 'INT8'}),
    'Div': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Dropout': frozenset({'FP32', 'FP16', 'BF16'}),
    'Einsum': frozenset({'FP32', 'FP16', 'BF16'}),
    'Elu': frozenset({'FP32', 'FP16', 'BF16'}),
    'Equal': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Erf': frozenset({'FP32', 'FP16', 'BF16'}),
    'Exp': frozenset({'FP32', 'FP16', 'BF16'}),
    'Expand': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'EyeLike': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Flatten': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Floor': frozenset({'FP32', 'FP16', 'BF16'}),
    'Gather': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'GatherElements': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'GatherND': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Gelu': frozenset({'FP32', 'FP16', 'BF16', 'INT8', 'INT32', 'INT64'}),
    'Gemm': frozenset({'FP32', 'FP16', 'BF16'}),
    'GlobalAveragePool': frozenset({'FP32', 'FP16', 'BF16'}),
    'GlobalLpPool': frozenset({'FP32', 'FP16', 'BF16'}),
    'GlobalMaxPool': frozenset({'FP32', 'FP16', 'BF16'}),
    'Greater': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'GreaterOrEqual': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'GridSample': frozenset({'FP32', 'FP16'}),
    'GroupNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'GRU': frozenset({'FP32', 'FP16', 'BF16'}),
    'HammingWindow': frozenset({'FP32', 'FP16'}),
    'HannWindow': frozenset({'FP32', 'FP16'}),
    'Hardmax': frozenset({'FP32', 'FP16', 'BF16'}),
    'HardSigmoid': frozenset({'FP32', 'FP16', 'BF16'}),
    'HardSwish': frozenset({'FP32', 'FP16', 'BF16'}),
    'Identity': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'If': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'ImageScaler': frozenset({'FP32', 'FP16', 'BF16'}),
    'InstanceNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'IsInf': frozenset({'FP32', 'FP16', 'BF16'}),
    'IsNaN': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'LayerNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'LeakyRelu': frozenset({'FP32', 'FP16', 'BF16'}),
    'Less': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'LessOrEqual': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Log': frozenset({'FP32', 'FP16', 'BF16'}),
    'LogSoftmax': frozenset({'FP32', 'FP16', 'BF16'}),
    'Loop': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'LpNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'LpPool': frozenset({'FP32', 'FP16', 'BF16'}),
    'LRN': frozenset({'FP32', 'FP16', 'BF16'}),
    'LSTM': frozenset({'FP32', 'FP16', 'BF16'}),
    'MatMul': frozenset({'FP32', 'FP16', 'BF16'}),
    'Max': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'MaxPool': frozenset({'FP32', 'FP16', 'BF16'}),
    'Mean': frozenset({'FP32', 'FP16', 'BF16', 'FP8', 'INT32', 'INT64'}),
    'MeanVarianceNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'Min': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Mish': frozenset({'FP32', 'FP16'}),
    'Mod': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Mul': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Neg': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'NonMaxSuppression': frozenset({'FP32', 'FP16'}),
    'NonZero': frozenset({'FP32', 'FP16'}),
    'Not': frozenset({'BOOL'}),
    'OneHot': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Or': frozenset({'BOOL'}),
    'Pad': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ParametricSoftplus': frozenset({'FP32', 'FP16', 'BF16'}),
    'Pow': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'PRelu': frozenset({'FP32', 'FP16', 'BF16'}),
    'QuantizeLinear': frozenset({'FP32', 'FP16', 'BF16'}),
    'RandomNormal': frozenset({'FP32', 'FP16', 'BF16'}),
    'RandomNormalLike': frozenset({'FP32', 'FP16', 'BF16'}),
    'RandomUniform': frozenset({'FP32', 'FP16', 'BF16'}),
    'RandomUniformLike': frozenset({'FP32', 'FP16', 'BF16'}),
    'Range': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Reciprocal': frozenset({'FP32', 'FP16', 'BF16'}),
    'ReduceL1': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceL2': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceLogSum': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceLogSumExp': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceMax': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceMean': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceMin': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceProd': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceSum': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ReduceSumSquare': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Relu': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Reshape': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Resize': frozenset({'FP32', 'FP16', 'BF16'}),
    'ReverseSequence': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'RMSNormalization': frozenset({'FP32', 'FP16', 'BF16'}),
    'RNN': frozenset({'FP32', 'FP16', 'BF16'}),
    'RoiAlign': frozenset({'FP32', 'FP16'}),
    'RotaryEmbedding': frozenset({'FP32', 'FP16', 'BF16'}),
    'Round': frozenset({'FP32', 'FP16', 'BF16'}),
    'ScaledTanh': frozenset({'FP32', 'FP16', 'BF16'}),
    'Scan': frozenset({'FP32', 'FP16', 'BF16'}),
    'Scatter': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ScatterElements': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'ScatterND': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Selu': frozenset({'FP32', 'FP16', 'BF16'}),
    'Shape': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Shrink': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Sigmoid': frozenset({'FP32', 'FP16', 'BF16'}),
    'Sign': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Sin': frozenset({'FP32', 'FP16', 'BF16'}),
    'Sinh': frozenset({'FP32', 'FP16', 'BF16'}),
    'Size': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Slice': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Softmax': frozenset({'FP32', 'FP16', 'BF16'}),
    'Softplus': frozenset({'FP32', 'FP16', 'BF16'}),
    'Softsign': frozenset({'FP32', 'FP16', 'BF16'}),
    'SpaceToDepth': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Split': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Sqrt': frozenset({'FP32', 'FP16', 'BF16'}),
    'Squeeze': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'STFT': frozenset({'FP32'}),
    'Sub': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Sum': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Tan': frozenset({'FP32', 'FP16', 'BF16'}),
    'Tanh': frozenset({'FP32', 'FP16', 'BF16'}),
    'TensorScatter': frozenset({'FP32', 'FP16', 'BF16', 'INT32'}),
    'ThresholdedRelu': frozenset({'FP32', 'FP16', 'BF16'}),
    'Tile': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'TopK': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64'}),
    'Transpose': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Trilu': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Unsqueeze': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Upsample': frozenset({'FP32', 'FP16', 'BF16'}),
    'Where': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'Xor': frozenset({'BOOL'}),
}

# [OPS-8.5] column: the 8.6 one without the three 8.6 operators and these rows.
_OP_DTYPES_8_5 = {op: t for op, t in _OP_DTYPES_8_6.items() if op not in _ADDED_IN_8_6} | {
    'ArgMax': frozenset({'FP32', 'FP16'}),
    'ArgMin': frozenset({'FP32', 'FP16'}),
    'Cast': frozenset({'FP32', 'FP16', 'INT32', 'INT8', 'BOOL'}),
    'ReverseSequence': frozenset({'FP32', 'FP16'}),
    'TopK': frozenset({'FP32', 'FP16'}),
}

# [OPS-10.1] column: the 10.15 one, for the 10.3 operators, but for these rows.
_OP_DTYPES_10_3 = {op: t for op, t in _OP_DTYPES_10.items() if op not in _ADDED_AFTER_10_3} | {
    'Constant': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),
    'ConstantOfShape': frozenset({'FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'BOOL'}),  # the table: "INF64"
    'DequantizeLinear': frozenset({'INT8', 'FP8', 'INT4'}),
    'Pow': frozenset({'FP32', 'FP16', 'BF16'}),
}

OP_DTYPES: dict[str, dict[str, frozenset[str]]] = {
    "8.5": _OP_DTYPES_8_5,
    "8.6": _OP_DTYPES_8_6,
    "10.3": _OP_DTYPES_10_3,
    "10": _OP_DTYPES_10,
    # ASSUMED same as 10; the 11.x notes give no type list for Swish or DFT, so those two
    # have no entry.  (11.2.1 release notes: "GridSample 3D support: Extends GridSample
    # from 2D-only to 3D (rank-5 input) with FP32, FP16, and BF16" - i.e. BF16 for the 3D
    # case; the 2D row of the 10.15 table lists FP32, FP16 only.)
    "11": dict(_OP_DTYPES_10),
}

# ---------------------------------------------------------------------------
# Graph-level data types (the operators.md header lines)
# ---------------------------------------------------------------------------

GRAPH_DTYPES: dict[str, frozenset[str]] = {
    # [OPS-8.5], [OPS-8.6] "DOUBLE, FLOAT32, FLOAT16, INT8, and BOOL" (+ limited INT32/INT64, cast down)
    "8.5": frozenset({"DOUBLE", "FP32", "FP16", "INT8", "BOOL", "INT32", "INT64"}),
    "8.6": frozenset({"DOUBLE", "FP32", "FP16", "INT8", "BOOL", "INT32", "INT64"}),
    # [OPS-10.1] "DOUBLE, FLOAT32, FLOAT16, BFLOAT16, INT32, INT64, FP8, INT8, INT4, UINT8, and BOOL"
    "10.3": frozenset({"DOUBLE", "FP32", "FP16", "BF16", "FP8", "INT32", "INT64", "INT8", "INT4", "UINT8",
                       "BOOL"}),
    # [OPS-10] "DOUBLE, FLOAT32, FLOAT16, BFLOAT16, FP8, FP4, INT32, INT64, INT8, INT4, UINT8, and BOOL"
    "10": frozenset({"DOUBLE", "FP32", "FP16", "BF16", "FP8", "FP4", "INT32", "INT64", "INT8",
                     "INT4", "UINT8", "BOOL"}),
    "11": frozenset({"DOUBLE", "FP32", "FP16", "BF16", "FP8", "FP4", "INT32", "INT64", "INT8",
                     "INT4", "UINT8", "BOOL"}),  # ASSUMED same as 10
}

# True where the parser silently casts INT64 down to INT32 (values clamped to +-INT_MAX).
# [OPS-8.6] "TensorRT will attempt to cast down INT64 to INT32"; [CL] "TensorRT 9.0 EA ...
# Added support for INT64 data type. The ONNX parser no longer automatically casts INT64
# to INT32."  So on 8.x an INT64 tensor is accepted even though no per-op row says INT64.
INT64_CAST_TO_INT32: dict[str, bool] = {"8.5": True, "8.6": True, "10.3": False, "10": False, "11": False}

# onnx.TensorProto.DataType name -> operators.md column name (None: not a TRT type).
ONNX_TO_DOC_DTYPE: dict[str, str | None] = {
    "FLOAT": "FP32",
    "FLOAT16": "FP16",
    "BFLOAT16": "BF16",
    "FLOAT8E4M3FN": "FP8",
    "FLOAT4E2M1": "FP4",
    "INT4": "INT4",
    "INT8": "INT8",
    "INT32": "INT32",
    "INT64": "INT64",
    "UINT8": "UINT8",
    "BOOL": "BOOL",
    "DOUBLE": "DOUBLE",
    "UINT16": None, "UINT32": None, "UINT64": None, "INT16": None, "UINT4": None,
    "STRING": None, "COMPLEX64": None, "COMPLEX128": None,
    "FLOAT8E4M3FNUZ": None, "FLOAT8E5M2": None, "FLOAT8E5M2FNUZ": None,
}

# ---------------------------------------------------------------------------
# Opsets and local functions
# ---------------------------------------------------------------------------

MAX_OPSET: dict[str, int] = {
    "8.5": 17,  # [OPS-8.5] "TensorRT 8.5 supports operators up to Opset 17."
    "8.6": 17,  # [OPS-8.6] "TensorRT 8.6 supports operators up to Opset 17."
    "10.3": 20,  # [OPS-10.1] "... opset 9 to opset 20." (RECONSTRUCTED for 10.3)
    "10": 24,   # [OPS-10] "TensorRT 10.15 supports ... opset 9 to opset 24."
    "11": 25,   # [OPSET-11] "Maximum opset 25"; [REL-11] v11.5 "Added support for ONNX
                # opset 25" - so 11.0-11.4 presumably stop at 24 (not stated anywhere stored).
}

MIN_OPSET: dict[str, int] = {
    # The 8.x operators.md gives only an upper bound.  NVIDIA's 8.x Developer Guide
    # ("Where possible, the parser is backward compatible up to opset 7") - seen only in
    # a translated copy (https://blog.csdn.net/weixin_42538848/article/details/135398274),
    # not in a stored NVIDIA page.
    "8.5": 7,
    "8.6": 7,
    "10.3": 9,  # [OPS-10.1] "inclusive range of opset 9 to opset 20"
    "10": 9,  # [OPS-10] "inclusive range of opset 9 to opset 24"
    "11": 9,  # [OPSET-11] "Minimum opset (official backward support) 9 and above"
}

# Whether the parser accepts models that use ONNX model-local functions
# (ModelProto.functions).  [CL] "TensorRT 9.0 EA Release - 2023-8-4 ... Added support for
# ONNX local functions when parsing ONNX models with the ONNX parser."  Later: 9.0 GA
# "Improved support for importing ONNX Local Functions"; 10.7 "Now prioritizes using
# plugins over local functions when a corresponding plugin is available in the registry";
# 10.8 "Fixed the import of local functions when their input tensor names aliased one from
# an outside scope".  The 10.15 table itself refers to them (DynamicQuantizeLinear: "can
# be composed from ONNX operators in the form of a model local function").
LOCAL_FUNCTIONS: dict[str, bool] = {"8.5": False, "8.6": False, "10.3": True, "10": True, "11": True}

# ---------------------------------------------------------------------------
# Inputs that must be initializers / build-time constants
# ---------------------------------------------------------------------------
# ONNX input indices: CumSum(x, axis); Dropout(data, ratio, training_mode);
# InstanceNormalization(input, scale, B); OneHot(indices, depth, values);
# Pad(data, pads, constant_value, axes) [axes from opset 18];
# Reduce*(data, axes) [axes is an input from opset 13 for ReduceSum, 18 for the others];
# Slice(data, starts, ends, axes, steps); Squeeze/Unsqueeze(data, axes) [opset >= 13];
# STFT(signal, frame_step, window, frame_length); TopK(X, K).
# Nothing in any revision requires Split `split`, Resize `scales`/`sizes`, Pad `pads`,
# or Slice `starts`/`ends`/`steps` to be constant.

_REDUCE_OPS = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
               "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare")

CONSTANT_INPUTS_BY_VERSION: dict[str, dict[str, tuple[int, ...]]] = {
    "8.5": {  # lines of [OPS-8.5]
        "CumSum": (1,),                    # "`axis` must be an initializer"
        "InstanceNormalization": (1, 2),   # "Scales `scale` and biases `B` must be initializers."
        "Slice": (3,),                     # "`axes` must be an initializer"
        "Squeeze": (1,),                   # "`axes` must be an initializer"
        "TopK": (1,),                      # "`K` input must be an initializer"
        "Unsqueeze": (1,),                 # "`axes` must be a constant tensor"
    },
    "8.6": {  # lines of [OPS-8.6]
        "CumSum": (1,),                    # "`axis` must be an initializer"
        "Slice": (3,),                     # "`axes` must be an initializer"
        "Squeeze": (1,),                   # "`axes` must be an initializer"
        "Unsqueeze": (1,),                 # "`axes` must be a constant tensor"
    },
    "10.3": {  # lines of [OPS-10.1], less Slice's "`axes` must be an initializer": [CL] 10.3 "Added
               # support for tensor `axes` inputs for `Slice` nodes"
        "CumSum": (1,),     # "`axis` must be an initializer"
        "Dropout": (2,),    # "`is_traning` must be an initializer and evaluate to False."
        "OneHot": (1,),     # "`depth` must be a build-time constant"
        "Pad": (3,),        # "`axes` must be an initializer" (tensor axes: [CL] 10.4)
        "Squeeze": (1,),    # "`axes` must be an initializer"
        "Unsqueeze": (1,),  # "`axes` must be a constant tensor"
        # ReduceL1 .. ReduceSumSquare: "`axes` must be an initializer"
        **{op: (1,) for op in _REDUCE_OPS},
    },
    "10": {  # lines of [OPS-10]
        "CumSum": (1,),     # "`axis` must be a build-time constant"
        "Dropout": (2,),    # "`is_training` must be an initializer and evaluate to False."
        "OneHot": (1,),     # "`depth` must be a build-time constant"
        "STFT": (1, 2),     # "`frame_step` and `window` must be an initializer."
        "Squeeze": (1,),    # "`axes` must be resolvable to a constant."
        "Unsqueeze": (1,),  # "`axes` must be resolvable to a constant."
        # ReduceL1 .. ReduceSumSquare: "`axes` must be an initializer"
        **{op: (1,) for op in _REDUCE_OPS},
    },
}
CONSTANT_INPUTS_BY_VERSION["11"] = dict(CONSTANT_INPUTS_BY_VERSION["10"])  # ASSUMED as 10

# ---------------------------------------------------------------------------
# What the importers read past, or reject, beyond the tables ([SRC])
# ---------------------------------------------------------------------------

# op -> {attribute: its ONNX default, None where it has none}: attributes the importer never
# reads, so any other value is silently lost.  Shape's `start`/`end` (opset 15) are read from
# onnxOpImporters.cpp @ release/10.0-EA on.
_SHAPE_RANGE: dict[str, int | None] = {"start": 0, "end": None}
IGNORED_ATTRIBUTES: dict[str, dict[str, dict[str, int | None]]] = {
    "8.5": {"Shape": _SHAPE_RANGE},
    "8.6": {"Shape": _SHAPE_RANGE},
}

# op -> input indices the importer never reads.  The 8.x ReduceSum and ReduceLogSum importers
# pass the `axes` input on; the others reduce over every axis when `axes` is an input (opset 18).
_REDUCE_AXES_DROPPED = {op: (1,) for op in _REDUCE_OPS if op not in ("ReduceSum", "ReduceLogSum")}
IGNORED_INPUTS: dict[str, dict[str, tuple[int, ...]]] = {"8.5": _REDUCE_AXES_DROPPED, "8.6": _REDUCE_AXES_DROPPED}

# op -> input indices that must NOT be initializers or constants: "The input tensor cannot be an
# initializer."  [CL] "TensorRT 10.11 ... Removed restriction that inputs to `RandomNormalLike`
# and `RandomUniformLike` must be tensors".
_RANDOM_LIKE = {"RandomNormalLike": (0,), "RandomUniformLike": (0,)}
TENSOR_INPUTS: dict[str, dict[str, tuple[int, ...]]] = {"8.5": _RANDOM_LIKE, "8.6": _RANDOM_LIKE,
                                                        "10.3": _RANDOM_LIKE}

# ---------------------------------------------------------------------------
# QuantizeLinear / DequantizeLinear
# ---------------------------------------------------------------------------
# The "Supported Types" column of both rows is about input 0 (x).  Their scale (input 1) and zero point
# (input 2) follow the table's restrictions ("`y_zero_point` must be 0", "`x_zero_point` must be zero") and
# QuantDequantLinearHelper of [SRC] (release/8.5-GA, 8.6-GA, 10.1-GA):
#   scale: "Scale coefficients must all be positive" (where constant); one value ("Per-Tensor"), one per
#     channel of `axis` ("The number of scales is not equal to the number of output channels"), or, from
#     10.x on, the rank of x ("Only a single blocking dimension is allowed"); its type is that of the
#     dequantized output, i.e. one of the types QuantizeLinear takes.
#   zero point: "TensorRT only supports symmetric quantization. The zero point ... must be all zeros"; the
#     same volume as the scale; its type is the quantized type (`notInvalidType(inputs.at(2), {"UINT8"})`;
#     "TensorRT only allows FP8, INT8, and INT4 quantization"), i.e. one DequantizeLinear takes.
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")

# 8.5: "This version of TensorRT requires 3 inputs for the DequantizeLinear operator."; 8.6 reads
# `inputs.at(2)` unconditionally (an exception: kINVALID_NODE).  10.x defaults to an INT8 zero of 0.
QDQ_ZERO_POINT_REQUIRED: dict[str, bool] = {"8.5": True, "8.6": True, "10.3": False, "10": False, "11": False}

# Blocked quantization (a scale of x's rank), 10.x importer; 8.x takes a scalar or 1-D scale only.
QDQ_BLOCKED_SCALES: dict[str, bool] = {"8.5": False, "8.6": False, "10.3": True, "10": True, "11": True}

# ---------------------------------------------------------------------------
# Rank limits
# ---------------------------------------------------------------------------

MAX_RANK: dict[str, int] = {v: 8 for v in TRT_VERSIONS}  # [DIMS] MAX_DIMS {8}

# op -> (min_rank, max_rank) of input 0, where the docs state one.
RANK_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "8.5": {
        "AveragePool": (4, 5),            # "2D or 3D Pooling only"
        "MaxPool": (4, 5),                # "2D or 3D pooling only."
        "InstanceNormalization": (3, 5),  # "Input rank must be >=3 & <=5"
    },
    "8.6": {
        "AveragePool": (4, 5),            # "2D or 3D Pooling only"
        "MaxPool": (4, 5),                # "2D or 3D pooling only."
    },
    "10.3": {  # [OPS-10.1]
        "AveragePool": (4, 5),            # "2D or 3D Pooling only."
        "MaxPool": (4, 5),                # "2D or 3D pooling only."
        "GridSample": (4, 4),             # "Input must be 4D input."
        "DeformConv": (3, 4),             # "`input` must have 1D or 2D spatial dimensions."
    },
    "10": {
        "AveragePool": (4, 5),            # "2D or 3D Pooling only."
        "MaxPool": (4, 5),                # "2D or 3D pooling only."
        "GridSample": (4, 4),             # "Input must be 4D input."
        "DeformConv": (3, 4),             # "`input` must have 1D or 2D spatial dimensions."
        "Attention": (4, 4),              # "`Q`, `K`, `V` and `attn_mask` must be 4D."
        "TensorScatter": (4, 4),          # "`past_cache` and `update` must be 4D."
    },
}
RANK_LIMITS["11"] = dict(RANK_LIMITS["10"], GridSample=(4, 5))  # [REL-11] v11.2 "5D GridSample"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_SHOWN = "8.5, 8.6, 10.3, 10 (= 10.15), 11"


def normalize_version(v: str) -> str:
    """The key of TRT_VERSIONS whose tables describe TensorRT ``v``.

    A key, optionally with patch and build numbers ("8.6.1", "10.3.0.30"), "10.15" for "10", and
    any 11.x for "11" (one ASSUMED table).  Raises ValueError, in one line, for anything else:
    other 10.x minors ("10.8") differ from both 10.3 and 10.15, so they are not guessed.
    """
    s = v.strip() if isinstance(v, str) else ""
    parts = (s[1:] if s[:1] in ("v", "V") else s).split(".")
    if not all(p.isdigit() for p in parts):
        raise ValueError(f"unrecognised TensorRT version {v!r}; tables: {_SHOWN}")
    nums = [int(p) for p in parts]
    if nums[0] == 11 or nums == [10]:
        return str(nums[0])
    if nums[:2] == [10, 15]:
        return "10"
    key = ".".join(map(str, nums[:2]))
    if len(nums) >= 2 and key in TRT_VERSIONS:
        return key
    raise ValueError(f"no TensorRT ONNX-parser table for version {v!r}; tables: {_SHOWN}")


def is_supported(op_type: str, version: str) -> bool:
    """Whether the docs for `version` mark default-domain `op_type` as supported."""
    return op_type in SUPPORTED_OPS[normalize_version(version)]


def op_dtypes(op_type: str, version: str) -> frozenset[str] | None:
    """Documented data types of `op_type`, or None where the docs list none."""
    return OP_DTYPES[normalize_version(version)].get(op_type)


def constant_inputs(op_type: str, version: str) -> tuple[int, ...]:
    """Input indices of `op_type` that must be initializers/constants on `version`."""
    return CONSTANT_INPUTS_BY_VERSION[normalize_version(version)].get(op_type, ())


def tensor_inputs(op_type: str, version: str) -> tuple[int, ...]:
    """Input indices of `op_type` that must not be initializers/constants on `version`."""
    return TENSOR_INPUTS.get(normalize_version(version), {}).get(op_type, ())


def ignored_attributes(op_type: str, version: str) -> dict[str, int | None]:
    """Attributes of `op_type` the `version` parser never reads, with their ONNX defaults (None: none)."""
    return IGNORED_ATTRIBUTES.get(normalize_version(version), {}).get(op_type, {})


def ignored_inputs(op_type: str, version: str) -> tuple[int, ...]:
    """Input indices of `op_type` the `version` parser never reads."""
    return IGNORED_INPUTS.get(normalize_version(version), {}).get(op_type, ())


def rank_limits(op_type: str, version: str) -> tuple[int, int] | None:
    """(min, max) rank of input 0 of `op_type` on `version`, or None where the docs state none."""
    return RANK_LIMITS[normalize_version(version)].get(op_type)
