from setuptools import find_packages, setup

package_name = "dawnpatrol_sim"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="DawnPatrol developers",
    maintainer_email="dev@dawnpatrol.dev",
    description="DawnPatrol built-in simulator: a headless 2-D engine and its ROS node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "sim = dawnpatrol_sim.sim_node:main",
            "scenario_runner = dawnpatrol_sim.scenario_runner_node:main",
        ],
    },
)
