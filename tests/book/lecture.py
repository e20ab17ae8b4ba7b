"""The lecture's sections (from the slide text in shared/seeds) that the book must cover, by chapter."""

SECTIONS = {
    "01_basics": ["AI vs ML vs DL", "What is a neural network?", "Neural network"],
    "02_losses": ["Loss functions"],
    "03_activations": [
        "Activation functions",
        "Sigmoid",
        "tanh",
        "Rectified Linear Units (ReLU)",
        "Dead ReLU",
        "Maxout units",
        "Normalization and initialization",
    ],
    "04_optimization": [
        "Gradient Descent for Neural Networks",
        "Stochastic Gradient Descent (SGD)",
        "Gradient Descent with Momentum",
        "RMSProp",
        "Adaptive Moment Estimation (Adam)",
        "Convergence",
    ],
    "05_training": [
        "Importance of Learning Rate",
        "Learning-rate schedules",
        "Over- and Underfitting",
        "Basic recipe for machine learning",
        "Regularization",
        "Data augmentation",
        "Early stopping",
        "Dropout",
    ],
    "06_cnns": [
        "Using CNNs in Computer Vision",
        "Image filters",
        "Convolutions on RGB Images",
        "Convolution Layer",
        "CNN Prototype",
        "Pooling Layer: Max Pooling",
        "Classic CNN architectures",
        "LeNet",
        "AlexNet",
        "VGGNet",
        "ResNet",
        "Inception layer",
        "Accuracy, operations and parameters",  # issue 11: the slides' architecture comparison chart
    ],
    "07_transformers": [
        "Transformers",
        "Multi-Head Attention",
        # issue 11: transformers for vision
        "Transformers for vision",
        "The transformer block",
        "Positional encodings",
        "A small Vision Transformer",
        "What changes with more data",
    ],
    "08_how_to_train": [
        "Setup Visualizations",
        "Is data loading correct?",
        "Overfitting curves",
        "Debugging: overfitting -> generalization",
        "Check timings",
        "Network architecture",
        "Bad signs",
        "Most common neural net mistakes",
        "Severe, moderate and no overfitting",  # the slides' three pairs of curves
    ],
    "09_visualization": [
        "Visualization of ConvNets",
        "Visualizing in the image space",
        "Visualizing importance",
        "The occlusion experiment",
        "t-SNE",
        "Natural images: faces and non-faces",  # issue 11: the same tools on real photographs
    ],
    "further_reading": ["Further reading", "Reading homework", "Literature"],  # the lecture's last slides
}
