from setuptools import find_packages, setup

package_name = "dawnpatrol_core"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    package_data={"dawnpatrol_core": ["py.typed"]},
    zip_safe=True,
    maintainer="DawnPatrol developers",
    maintainer_email="dev@dawnpatrol.dev",
    description="DawnPatrol core: every algorithm of the stack as plain Python, free of ROS.",
    license="Apache-2.0",
)
