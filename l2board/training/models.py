"""The networks of the tutorial this project measures against.

`documented_cnn` is the tutorial's CIFAR-100 network, layer for layer, with
stable layer names so that the logs of two runs line up tag by tag.
`tutorial_mlp` is its second example, the 5-layer MLP that TF1 regularized
through a collection. Keras is imported when a model is built, so that the
layer names can be read by tools that never load TensorFlow.
"""

CNN_LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "output")
CNN_WEIGHT_LAYERS = ("conv1", "conv2", "fc1", "output")
TUTORIAL_L2_LAYERS = ("conv1",)


def _resolve_l2_layers(l2_layers, weight_layers):
    if l2_layers == "all":
        return set(weight_layers)
    if isinstance(l2_layers, str):
        l2_layers = [l2_layers]
    chosen = set(l2_layers)
    unknown = sorted(chosen - set(weight_layers))
    if unknown:
        raise ValueError(
            f"Unknown layer name(s) for L2: {', '.join(unknown)}; "
            f"the layers with weights are {', '.join(weight_layers)}."
        )
    return chosen


def _check_factor(l2):
    if not l2 >= 0:  # also refuses NaN
        raise ValueError(f"The L2 factor must be zero or positive, got {l2}.")


def documented_cnn(
    input_shape=(32, 32, 3),
    num_classes=100,
    l2=0.01,
    l2_layers=TUTORIAL_L2_LAYERS,
    learning_rate=0.001,
    compile=True,
):
    """Builds the tutorial's CIFAR-100 CNN, optionally with L2 elsewhere.

    The network is Conv2D(32, 5, same, relu) -> MaxPool2D(2, 2, same) ->
    Conv2D(64, 5, same, relu) -> MaxPool2D(2, 2, same) -> Flatten ->
    Dense(1024, relu) -> Dense(num_classes, softmax), compiled with Adam,
    sparse categorical cross-entropy and accuracy. The tutorial puts
    `l2(0.01)` on the first convolution's kernel only: 2,400 of about
    4.35M weights. `l2_layers` moves or widens it.

    Args:
        input_shape: shape of one image, `(32, 32, 3)` for CIFAR-100.
        num_classes: number of classes, 100 for CIFAR-100.
        l2: the Keras L2 factor; 0 builds the no-L2 twin (no regularizer
            at all, so the model's losses are empty).
        l2_layers: names of the layers whose kernel carries L2, from
            `conv1`, `conv2`, `fc1`, `output`; or `"all"`. Default: `conv1`,
            as the tutorial.
        learning_rate: Adam's learning rate.
        compile: whether to compile the model.

    Returns:
        A `keras.Sequential` named `documented_cnn`, with layers named
        `conv1, pool1, conv2, pool2, flatten, fc1, output`.

    Example:

    >>> model = documented_cnn(l2=0.01, l2_layers="all")
    >>> model.count_params()
    4351524
    """
    import keras
    from keras import layers

    _check_factor(l2)
    chosen = _resolve_l2_layers(l2_layers, CNN_WEIGHT_LAYERS) if l2 else set()

    def regularizer(name):
        return keras.regularizers.L2(l2) if name in chosen else None

    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 5, strides=1, padding="same", activation="relu",
                          kernel_regularizer=regularizer("conv1"), name="conv1"),
            layers.MaxPool2D(2, 2, padding="same", name="pool1"),
            layers.Conv2D(64, 5, strides=1, padding="same", activation="relu",
                          kernel_regularizer=regularizer("conv2"), name="conv2"),
            layers.MaxPool2D(2, 2, padding="same", name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(1024, activation="relu",
                         kernel_regularizer=regularizer("fc1"), name="fc1"),
            layers.Dense(num_classes, activation="softmax",
                         kernel_regularizer=regularizer("output"), name="output"),
        ],
        name="documented_cnn",
    )
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


def tutorial_mlp(layer_sizes=(2, 10, 10, 10, 1), l2=0.001, compile=True):
    """Builds the tutorial's 5-layer MLP with L2 on every kernel.

    TF1 regularized this network by adding each weight to a collection and
    summing `l2_regularizer(0.001)` over it; in Keras every Dense kernel
    carries `l2(0.001)` instead. Note that TF1's regularizer halved the sum
    of squares, so the same number gives Keras twice the penalty (see
    `l2board.writing.weight_math.tf1_l2_penalty`).

    Args:
        layer_sizes: input width followed by the width of each Dense layer;
            the tutorial's `[2, 10, 10, 10, 1]`.
        l2: the Keras L2 factor on every kernel; 0 for none.
        compile: whether to compile with Adam and mean squared error.

    Returns:
        A `keras.Sequential` named `tutorial_mlp` with ReLU hidden layers
        named `dense1, dense2, ...` and a linear output layer `output`.

    Example:

    >>> model = tutorial_mlp()
    >>> [layer.name for layer in model.layers]
    ['dense1', 'dense2', 'dense3', 'output']
    """
    import keras
    from keras import layers

    _check_factor(l2)
    if len(layer_sizes) < 2:
        raise ValueError("layer_sizes needs an input width and at least one layer.")
    regularizer = keras.regularizers.L2(l2) if l2 else None
    stack = [keras.Input(shape=(layer_sizes[0],))]
    hidden = layer_sizes[1:-1]
    for i, width in enumerate(hidden, start=1):
        stack.append(layers.Dense(width, activation="relu",
                                  kernel_regularizer=regularizer, name=f"dense{i}"))
    stack.append(layers.Dense(layer_sizes[-1], kernel_regularizer=regularizer, name="output"))
    model = keras.Sequential(stack, name="tutorial_mlp")
    if compile:
        model.compile(optimizer="adam", loss="mse")
    return model
